"""The MQTT transport: the topic contract (``topics``: the only place topics are built and
parsed), payload checks (``contract``), connection, the kiosk's outbox publisher and Home
Assistant discovery. The plan aggregator (``plan/``) and the maintainers' monitor
(``monitor/``) use it. See docs/mqtt.md for the contract."""
