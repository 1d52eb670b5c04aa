"""The whole way of a need: a household raises it at a kiosk (kiosk/needs.py, the outbox),
the publisher sends it to a real broker, ``kiosk plan --http … --pages …`` stores it and
serves the public page, which lists it with its support; the noticeboard files match."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.config import MqttConfig
from kiosk.events import Outbox
from kiosk.needs import NeedsBook
from kiosk.schema import open_kiosk_store
from mqtt import topics
from mqtt.publisher import Publisher
from tests.mqtt_broker import wait_until

ROOT = Path(__file__).resolve().parent.parent


def page(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.read().decode("utf-8")
    except OSError:
        return ""


def test_a_need_raised_at_a_kiosk_reaches_the_public_page(broker, tmp_path):
    board = tmp_path / "board"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "plan", "--broker", f"127.0.0.1:{broker.port}",
         "--data", str(tmp_path / "plan"), "--community", "maple", "--interval", "0.3",
         "--reconnect-max", "1", "--http", "127.0.0.1:0", "--pages", str(board)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")),
                              daemon=True)
    reader.start()
    store = open_kiosk_store(tmp_path / "kiosk.db")
    with store.step() as db:
        db.execute("INSERT INTO households (unit, pseudonym) VALUES ('101', 'h-a'), "
                   "('102', 'h-b')")
    outbox = Outbox(store)
    book = NeedsBook(store, outbox)
    publisher = Publisher(outbox, MqttConfig(host="127.0.0.1", port=broker.port), "maple",
                          "k1", reconnect_min_s=0.1)
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:6]}")
    try:
        assert wait_until(lambda: any("public page is at" in line for line in lines), 20), \
            lines
        url = re.search(r"http://\S+/", "".join(lines)).group(0)
        # Until the plan has subscribed, events pass it by: probe until one is on the page.
        probe.connect("127.0.0.1", broker.port)
        probe.loop_start()
        body = {"seq": 1, "id": "probe-1", "ts": "2026-11-30T08:00:00Z", "type": "kiosk.probe",
                "community": "maple", "kiosk": "probe", "data": {}}
        assert wait_until(lambda: probe.publish(
            topics.event_topic("maple", "probe", "kiosk.probe"), json.dumps(body), qos=1)
            and "Kiosk probe" in page(url + "en.html"), 20, step=0.3)

        need = book.raise_need("101", "need", "More large lockers, please")
        book.support("102", need.id)
        publisher.start()
        assert wait_until(lambda: "households supporting: 2" in page(url + "en.html"), 20)
        english = page(url + "en.html")
        assert "More large lockers, please" in english
        assert "需求与提议" in page(url) and "2 户支持" in page(url)
        assert wait_until(lambda: (board / "en.html").is_file()
                          and "More large lockers" in (board / "en.html").read_text(), 10)
    finally:
        publisher.stop()
        probe.loop_stop()
        probe.disconnect()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        store.close()
    assert code == 0, "".join(lines)


def test_a_witness_alarm_reaches_the_public_page_and_a_forged_one_does_not(broker, tmp_path):
    """A witness's alarm, exactly as ``kiosk witness`` publishes it (witness/service.py),
    reaches both pages; one whose payload speaks for another witness is refused; the
    control: before any alarm the section says there are none."""
    from kiosk.events import iso, utc_now
    from witness.core import Alarm

    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "plan", "--broker", f"127.0.0.1:{broker.port}",
         "--data", str(tmp_path / "plan"), "--community", "maple", "--interval", "0.3",
         "--reconnect-max", "1", "--http", "127.0.0.1:0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")),
                              daemon=True)
    reader.start()
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:6]}")
    try:
        assert wait_until(lambda: any("public page is at" in line for line in lines), 20), \
            lines
        url = re.search(r"http://\S+/", "".join(lines)).group(0)
        probe.connect("127.0.0.1", broker.port)
        probe.loop_start()
        body = {"seq": 1, "id": "probe-1", "ts": "2026-11-30T08:00:00Z", "type": "kiosk.probe",
                "community": "maple", "kiosk": "probe", "data": {}}
        assert wait_until(lambda: probe.publish(
            topics.event_topic("maple", "probe", "kiosk.probe"), json.dumps(body), qos=1)
            and "Kiosk probe" in page(url + "en.html"), 20, step=0.3)
        assert "No alarms." in page(url + "en.html") and "没有警报。" in page(url)

        # Forged: on the witness "resident"'s topic, a payload naming another witness.
        forged = Alarm("maple", "k1", "audit", "edited", "FORGED-ALARM").to_json(
            "mallory", iso(utc_now()))
        probe.publish(topics.witness_alarm_topic("maple", "resident", "k1", "audit", "edited"),
                      json.dumps(forged), qos=1).wait_for_publish(5)
        # Well-formed, but its detail hides a right-to-left override: shown cleaned.
        hidden = Alarm("maple", "k2", "draws", "truncated", "held 9\u202e, head 7").to_json(
            "resident", iso(utc_now()))
        probe.publish(topics.witness_alarm_topic("maple", "resident", "k2", "draws",
                                                 "truncated"),
                      json.dumps(hidden), qos=1, retain=True).wait_for_publish(5)
        honest = Alarm("maple", "k1", "audit", "edited", "seq 3: hash 0a… held, 0b… shown"
                       ).to_json("resident", iso(utc_now()))
        probe.publish(topics.witness_alarm_topic("maple", "resident", "k1", "audit", "edited"),
                      json.dumps(honest), qos=1, retain=True).wait_for_publish(5)
        assert wait_until(lambda: "seq 3: hash 0a" in page(url + "en.html")
                          and "held 9" in page(url + "en.html"), 20, step=0.2)
        english, chinese = page(url + "en.html"), page(url)
        section = english[english.index('id="alarms"'):]
        section = section[:section.index("</section>")]
        assert "No alarms." not in section
        for shown in ("resident", "k1", "k2", "an entry was edited", "edited",
                      "the history was cut short", "truncated", "held 9\ufffd, head 7"):
            assert shown in section, shown
        assert "\u202e" not in english and "FORGED-ALARM" not in english
        assert "mallory" not in english
        assert "记录被修改" in chinese and "seq 3: hash 0a" in chinese
        assert "没有警报。" not in chinese
    finally:
        probe.loop_stop()
        probe.disconnect()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    assert code == 0, "".join(lines)
    assert "refused 1 message(s): topic_mismatch" in "".join(lines), "".join(lines)
