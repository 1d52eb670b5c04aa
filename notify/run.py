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
    # The worker failing ends the service too, with an error (systemd restarts it).
    def watch() -> None:
        notifier.failed.wait()
        stopping.set()

    threading.Thread(target=watch, name="notifier-watch", daemon=True).start()
    notifier.start()
    log.info("notifier %s of community %s: listening on %s", settings.name,
             settings.community, mqtt_config.host)
    try:
        stopping.wait()
    finally:
        notifier.stop()
        store.close()
    if notifier.failure is not None:
        raise RuntimeError(f"the notifier's worker stopped: {notifier.failure!r}")
    return 0
