"""The maintainers' monitor (``kiosk monitor``): the fleet of kiosks as plain Python
(``fleet``: availability, devices, alerts, latest events) and the feed that fills it from
the public MQTT topics (``feed``). tui/monitor.py draws it. It uses the transport in
``mqtt/`` (topics, contract, connection); the kiosk's core knows nothing of it."""
