"""MQTT adapters: the outbox publisher, the topic contract, Home Assistant discovery and
the community-plan aggregator. See docs/mqtt.md for the contract."""
