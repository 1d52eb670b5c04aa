"""The community plan: a long-running service of its own (``kiosk plan``, systemd unit
kiosk-plan.service) that reads every kiosk's public events over MQTT, keeps them once in its
own SQLite (``store``), computes the public indicators (``indicators``) and publishes them
(``aggregator``); ``report`` draws them. It uses the transport in ``mqtt/`` (topics,
contract, connection) and the core's store and clock, never a kiosk's database."""
