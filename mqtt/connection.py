"""Reaching a broker: its address as a maintainer types it, and a paho client made from the
kiosk's MQTT settings the same way everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

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


def set_reconnect_delay(client: mqtt.Client, min_s: float, max_s: float) -> None:
    """Reconnect after ``min_s``, doubling up to ``max_s`` (paho's default grows to 120 s)."""
    # paho annotates the delays as int, but only compares, doubles and adds them to a
    # monotonic time: fractions of a second work (the tests reconnect after 0.1 s).
    client.reconnect_delay_set(min_delay=cast(int, min_s), max_delay=cast(int, max_s))


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_broker(text: str) -> BrokerAddress:
    """``HOST:PORT``, ``[v6addr]:PORT`` or ``HOST`` (port 1883)."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad broker address {text!r}: expected [ADDRESS]:PORT")
        port_text = rest[1:] if rest else "1883"
    elif text.count(":") > 1:
        raise ValueError(f"bad broker address {text!r}: write an IPv6 address as [ADDRESS]:PORT")
    else:
        host, _, port_text = text.partition(":")
        port_text = port_text if ":" in text else "1883"
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        raise ValueError(f"bad broker address {text!r}: expected HOST:PORT")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"bad broker address {text!r}: the port must be a number 1-65535")
    return BrokerAddress(host, int(port_text))
