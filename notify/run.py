"""Running ``kiosk notify`` until stopped (SIGTERM from systemd, Ctrl-C)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

from kiosk.config import MqttConfig
from notify.service import Notifier, NotifierSettings
from notify.store import open_notifier_store

log = logging.getLogger(__name__)

# A worker that has not turned for this long is stuck (a delivery hanging past every
# channel's timeout, a locked disk): no more watchdog pings, so systemd restarts
# `kiosk notify` (WatchdogSec=300 in systemd/kiosk-notify.service). Shorter when the
# watchdog is (half of WatchdogSec=): a ping is then never sent for a stuck worker.
STALLED_S = 120.0


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
    from kiosk.sdnotify import Notifier as SystemdNotifier
    from kiosk.sdnotify import Watchdog

    systemd = SystemdNotifier.from_env()
    watchdog = Watchdog(systemd)
    stalled_s = min(STALLED_S, watchdog.interval or STALLED_S)
    notifier.start()
    log.info("notifier %s of community %s: listening on %s", settings.name,
             settings.community, mqtt_config.host)
    ready = False
    try:
        while True:
            if not ready and notifier.ready.is_set():
                systemd.ready(f"subscribed on {mqtt_config.host}:{mqtt_config.port}")
                ready = True
            # The worker's turns feed the watchdog, not this loop: a stuck delivery stops
            # the pings.
            if ready and time.monotonic() - notifier.turned_at < stalled_s:
                watchdog.tick()
            if stopping.wait(watchdog.poll_every if ready else 0.1):
                break
    finally:
        systemd.stopping()
        notifier.stop()
        store.close()
    if notifier.failure is not None:
        raise RuntimeError(f"the notifier's worker stopped: {notifier.failure!r}")
    return 0
