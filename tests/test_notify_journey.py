"""A code's whole journey on the composition ``kiosk run`` builds: the real driver on the
pty board simulator, a real Mosquitto, the notifier with real Apprise, a real SMTP server
and a json:// endpoint, the slip printer for a household without contact; the kiosk
restarted in the middle, and the resident opening the door with the code from the mail."""

from __future__ import annotations

from kiosk.config import MqttConfig, load_config
from kiosk.setups.production import production_kiosk
from notify.contacts import ContactsDirectory
from notify.service import Notifier, NotifierSettings
from notify.store import open_notifier_store
from tests.mqtt_broker import wait_until
from tests.notify_support import PushInbox, SmtpInbox
from tests.test_composition import run_config

MAIL = "wang@maple-court.example"


def test_door_shut_to_inbox_across_a_kiosk_restart_then_the_code_opens_the_door(
        tmp_path, sim, broker, mock_factory):
    path = run_config(tmp_path, sim.port, broker.port)
    path.write_text(path.read_text(encoding="utf-8")
                    + '[notify]\nprinter = "simulated"\nreceipt_timeout_s = 1\n',
                    encoding="utf-8")
    config = load_config(path)
    smtp = SmtpInbox().start()
    push = PushInbox().start()
    store = open_notifier_store(tmp_path / "notifier")
    book = ContactsDirectory(store)
    book.add("A101", smtp.url(MAIL), "zh")
    book.add("A102", push.url("A102"), "en")  # A103 has no contact: a slip
    notifier = Notifier(store, MqttConfig(host="127.0.0.1", port=broker.port,
                                          reconnect_max_s=1),
                        NotifierSettings("maple-court", retry_first_s=0.1))
    kiosk = production_kiosk(config, mock_factory)
    try:
        courier = kiosk.lockers.add_courier("c-1", "12341234")
        for unit in ("A101", "A102", "A103"):
            kiosk.lockers.add_household(unit)
            slot = kiosk.lockers.deposit(courier, unit, "S")
            sim.put_item(slot.compartment.board, slot.compartment.lock)
            sim.shut(slot.compartment.board, slot.compartment.lock)
            kiosk.lockers.finish(slot)
        codes = {n.household: n.data["code"] for n in kiosk.outbox.pending_notifications()}
        assert set(codes) == {"A101", "A102", "A103"}
        assert wait_until(lambda: not kiosk.publisher._notes_in_flight
                          and len(kiosk.publisher._awaiting) == 3, 10)
    finally:
        kiosk.close()  # the notifier was not there: nothing was delivered

    kiosk = production_kiosk(config, mock_factory)
    try:
        assert kiosk.outbox.undelivered_count() == 3  # kept across the restart
        notifier.start()
        assert wait_until(lambda: kiosk.outbox.undelivered_count() == 0, 20)
        assert smtp.codes(MAIL) == {codes["A101"]}
        mail = smtp.to(MAIL)[0]
        assert "免费" in mail.text and "pickup-code.png" in mail.attachments
        assert push.codes("A102") == {codes["A102"]}
        [slip] = kiosk.slips.printer.slips
        assert b"A103" in slip and codes["A103"].encode() in slip
        assert codes["A101"].encode() not in slip and codes["A102"].encode() not in slip
        # The resident scans the code from the mail: the door opens.
        result = kiosk.lockers.pickup(smtp.to(MAIL)[0].code() or "", "A101")
        assert [c.lock for c in result.opened] and sim.unlock_count() >= 1
    finally:
        kiosk.close()
        notifier.stop()
        store.close()
        smtp.stop()
        push.stop()
