"""Making a paho client from the kiosk's MQTT settings, the same way everywhere."""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.config import MqttConfig


def make_client(config: MqttConfig, client_id: str, *, clean_session: bool = True,
                manual_ack: bool = False) -> mqtt.Client:
    """A paho client with callback API v2, MQTT 3.1.1, credentials and TLS from config.

    MQTT 3.1.1 rather than 5: a persistent session there is simply ``clean_session=False``,
    while under 5 a session silently ends at disconnect unless an expiry is also sent.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=clean_session, protocol=mqtt.MQTTv311,
                         manual_ack=manual_ack)
    if config.username:
        client.username_pw_set(config.username, config.password or None)
    if config.tls:
        client.tls_set(ca_certs=config.ca_file or None)
    return client
