"""A kiosk process for crash tests: the real service, driver and database file.

    python tests/kiosk_worker.py DB PORT start            reconcile, print the report
    python tests/kiosk_worker.py DB PORT deposit UNIT SIZE
    python tests/kiosk_worker.py DB PORT pickup CODE

Like the kiosk, it reconciles at start-up before anything else. The test SIGKILLs it
between steps.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.serial_board import open_board
from kiosk.events import Outbox
from kiosk.lockers.service import LockerService
from kiosk.schema import open_kiosk_store
from tests.lockers_setup import locker_config


def main(db: str, port: str, action: str, *args: str) -> None:
    config = locker_config(port)
    config.board.confirm_s = 5.0  # long enough for the test to kill mid-confirmation
    store = open_kiosk_store(db)
    with open_board(port, timeout_s=0.1, retries=1) as bus:
        service = LockerService(store, Outbox(store), bus, config)
        report = service.reconcile()
        print(json.dumps({"resolved": report.resolved, "in_review": report.in_review}),
              flush=True)
        if action == "deposit":
            courier = service.courier_login("courier-1", "12341234")
            service.deposit(courier, args[0], args[1])
        elif action == "pickup":
            service.pickup(args[0], args[1] if len(args) > 1 else "A101")
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
