"""The kiosk's core: domain rules and state, free of UI, MQTT and hardware libraries."""

__version__ = "0.1.0"
