"""Benchmark: a pickup code from the door shutting to the mail accepted by an SMTP server,
beside a bare ``smtplib`` send of the same message in the same run; and how many
notifications a minute one notifier sustains.

    python bench/bench_notify.py [--samples 40] [--burst 120]

The path measured: the notification committed in the kiosk's outbox (the step that
records the shut door) → the publisher → a real Mosquitto → ``kiosk notify`` (notify.db,
Apprise, the QR image) → an SMTP server (aiosmtpd) accepting the message. The baseline
sends the same rendered message with the same QR attachment straight to the same server
with ``smtplib``. Starts its own broker on a free loopback port; prints one table.
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.config import MqttConfig  # noqa: E402
from kiosk.events import Outbox  # noqa: E402
from kiosk.notifications import Note  # noqa: E402
from kiosk.schema import open_kiosk_store  # noqa: E402
from mqtt.publisher import Publisher  # noqa: E402
from notify.contacts import ContactsDirectory  # noqa: E402
from notify.messages import render  # noqa: E402
from notify.qr import qr_png  # noqa: E402
from notify.service import Notifier, NotifierSettings  # noqa: E402
from notify.store import open_notifier_store  # noqa: E402
from tests.mqtt_broker import Mosquitto, wait_until  # noqa: E402
from tests.notify_support import SmtpInbox  # noqa: E402

C, K = "bench", "kiosk-1"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def arrived(smtp: SmtpInbox, before: int) -> bool:
    return len(smtp.mails) > before


def queue(outbox: Outbox, household: str, code: str) -> float:
    with outbox.store.step() as db:
        outbox.notify(db, household, "pickup_code", {"code": code, "parcels": 1,
                                                     "community": C, "kiosk": K})
    return time.perf_counter()  # committed: the door's shutting is on disk


def bare_smtp(smtp: SmtpInbox, samples: int) -> list[float]:
    note = Note(id="0" * 32, seq=1, ts="", kind="pickup_code", household="b1", community=C,
                kiosk=K, code="482913", parcels=1, data={})
    message = render(note, "zh")
    times = []
    for _ in range(samples):
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "kiosk@bench.example", "b1@bench.example", \
            message.title
        mail.set_content(message.body)
        mail.add_attachment(qr_png(note.code or ""), maintype="image", subtype="png",
                            filename="pickup-code.png")
        before = len(smtp.mails)
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", smtp.port) as client:
            client.send_message(mail)
        wait_until(partial(arrived, smtp, before), 10, step=0.0005)
        times.append(smtp.mails[-1].at - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--burst", type=int, default=120)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    smtp = SmtpInbox().start()
    broker = Mosquitto(work / "broker").start()
    outbox = Outbox(open_kiosk_store(work / "kiosk.db"))
    store = open_notifier_store(work / "notifier")
    book = ContactsDirectory(store)
    units = [f"u{i}" for i in range(args.burst)]
    for unit in ["one", *units]:
        book.add(unit, smtp.url(f"{unit}@bench.example"), "zh")
    mqtt_config = MqttConfig(host=broker.host, port=broker.port, reconnect_max_s=1)
    notifier = Notifier(store, mqtt_config, NotifierSettings(C))
    publisher = Publisher(outbox, mqtt_config, C, K, reconnect_min_s=0.1)
    outbox.on_commit(publisher.kick)  # as the uplink feature wires it
    try:
        notifier.start()
        assert notifier.ready.wait(10)
        publisher.start()
        assert wait_until(lambda: publisher.uplink().connected, 10)

        bare = bare_smtp(smtp, args.samples)

        path = []
        for i in range(args.samples + 3):
            before = len(smtp.mails)
            start = queue(outbox, "one", f"{100000 + i}")
            assert wait_until(partial(arrived, smtp, before), 30, step=0.0005)
            if i >= 3:  # the first ones pay for imports and connections
                path.append(smtp.mails[-1].at - start)
            assert wait_until(lambda: outbox.undelivered_count() == 0, 30, step=0.001)

        start = time.perf_counter()
        for i, unit in enumerate(units):
            queue(outbox, unit, f"{200000 + i}")
        assert wait_until(lambda: outbox.undelivered_count() == 0, 600, step=0.01)
        burst_s = time.perf_counter() - start
    finally:
        publisher.stop()
        notifier.stop()
        broker.stop()
        smtp.stop()
    per_minute = args.burst / burst_s * 60
    print(f"{'path':<52} {'p50 ms':>8} {'p99 ms':>8} {'n':>5}")
    print(f"{'bare smtplib send of the same message (baseline)':<52} "
          f"{statistics.median(bare) * 1000:8.1f} {pct(bare, 99) * 1000:8.1f} {len(bare):5d}")
    print(f"{'door shut -> outbox -> broker -> notifier -> SMTP':<52} "
          f"{statistics.median(path) * 1000:8.1f} {pct(path, 99) * 1000:8.1f} {len(path):5d}")
    print(f"\none notifier, {args.burst} codes queued at once: all receipts back in "
          f"{burst_s:.1f} s = {per_minute:.0f} notifications a minute")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
