"""Running ``kiosk notify`` until stopped (SIGTERM from systemd, Ctrl-C)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from kiosk.config import MqttConfig
from notify.service import Notifier, NotifierSettings
from notify.store import open_notifier_store

log = logging.getLogger(__name__)


def run_notifier(data: Path, mqtt_config: MqttConfig, settings: NotifierSettings) -> int:
    store = open_notifier_store(data)
    notifier = Notifier(store, mqtt_config, settings)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    notifier.start()
    log.info("notifier %s of community %s: listening on %s", settings.name,
             settings.community, mqtt_config.host)
    try:
        stopping.wait()
    finally:
        notifier.stop()
        store.close()
    return 0
