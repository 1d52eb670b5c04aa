"""Outage is not scarcity (issue 12): a deposit refused because compartments are out of
order is an outage for the maintainers, never unmet demand for the plan.

On the composition ``kiosk run`` builds: the real serial driver on the pty board
simulator, the health poll on the scheduler, the real publisher and a real mosquitto.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk.composition import compose
from kiosk.config import MqttConfig, load_config
from kiosk.events import utc_now
from kiosk.lockers.model import LockersOutOfOrder, NoFreeCompartment
from kiosk.lockers.service import CODE_LATE_S
from kiosk.setups.production import open_devices, production_kiosk
from notify.contacts import ContactsDirectory
from notify.service import Notifier, NotifierSettings
from notify.store import open_notifier_store
from plan import indicators
from plan.store import PlanStore
from tests.mqtt_broker import Collector, wait_until
from tests.notify_support import PushInbox
from tests.test_composition import run_config

TYPES = ("locker.full", "locker.unavailable")


def refusals(kiosk) -> list[tuple[str, dict]]:
    return [(e.type, e.data) for e in kiosk.outbox.events() if e.type in TYPES]


def fill(kiosk, sim, courier, size: str, n: int) -> None:
    """``n`` parcels of ``size`` put in, as a courier does it."""
    for _ in range(n):
        slot = kiosk.lockers.deposit(courier, "A101", size)
        c = slot.compartment
        sim.put_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        kiosk.lockers.finish(slot)


def faults(kiosk, board: int) -> set[str | None]:
    return {c.fault for c in kiosk.lockers.compartments() if c.board == board}


def test_a_board_outage_is_out_of_order_not_full_and_the_plan_counts_only_real_demand(
        tmp_path, sim, broker, mock_factory):
    path = run_config(tmp_path, sim.port, broker.port)  # board 0: S 1-8
    # … and two large ones on board 1 (an S parcel may take an L door, never the reverse).
    path.write_text(path.read_text() + '\n[[compartments]]\nboard = 1\nlocks = "1-2"\n'
                    'size = "L"\n')
    config = load_config(path)
    seen = Collector(broker.port, ["community/#"])
    seen.wait_subscribed()
    kiosk = production_kiosk(config, mock_factory)
    try:
        courier = kiosk.lockers.add_courier("c-1", "12341234", pseudonym="c-one")
        kiosk.lockers.add_household("A101")

        # Control: truly full, a parcel in both L compartments: locker.full as before.
        fill(kiosk, sim, courier, "L", 2)
        with pytest.raises(NoFreeCompartment) as refused:
            kiosk.lockers.deposit(courier, "A101", "L")
        assert type(refused.value) is NoFreeCompartment
        assert refused.value.reason == "no_free_compartment"
        assert kiosk.lockers.unavailable_sizes() == set()
        # … and still full while their board is down: both hold a parcel, so only more
        # compartments would have helped.
        sim.set_silent(1, True)
        assert wait_until(lambda: faults(kiosk, 1) == {"board_offline"}, 15)
        with pytest.raises(NoFreeCompartment) as refused:
            kiosk.lockers.deposit(courier, "A101", "L")
        assert refused.value.reason == "no_free_compartment"
        assert [k for k, _ in refusals(kiosk)] == ["locker.full", "locker.full"]

        # Board 0 falls silent: the health poll takes its compartments out of service,
        # and a small parcel is refused as out of order, not as full.
        sim.set_silent(0, True)
        assert wait_until(lambda: faults(kiosk, 0) == {"board_offline"}, 15)
        with pytest.raises(LockersOutOfOrder) as refused:
            kiosk.lockers.deposit(courier, "A101", "S")
        assert refused.value.reason == "out_of_order"
        assert refused.value.details["causes"] == {"board_offline": 8}
        kind, data = refusals(kiosk)[-1]
        assert kind == "locker.unavailable"
        assert data["size"] == "S" and data["courier"] == "c-one"
        assert data["causes"] == {"board_offline": 8} and data["free"]["S"] == 0
        # The size buttons say so too: S out of order; M (it would take an L) full.
        assert kiosk.lockers.unavailable_sizes() == {"S"}

        # Board 0 answers again: back in service, parcels go in.
        sim.set_silent(0, False)
        assert wait_until(lambda: faults(kiosk, 0) == {None}, 15)
        fill(kiosk, sim, courier, "S", 7)

        # Mixed: seven full, the eighth empty on a silent board. Had it worked the parcel
        # would have gone in, so building more would not have helped: still an outage.
        sim.set_silent(0, True)
        assert wait_until(lambda: faults(kiosk, 0) == {"board_offline"}, 15)
        with pytest.raises(LockersOutOfOrder) as refused:
            kiosk.lockers.deposit(courier, "A101", "S")
        assert refused.value.details["causes"] == {"board_offline": 1}
        assert wait_until(lambda: kiosk.outbox.pending_count() == 0, 15)
    finally:
        kiosk.close()

    # Restarted during the outage: still out of order, not full.
    kiosk = production_kiosk(config, mock_factory)
    try:
        courier = kiosk.lockers.courier_login("c-1", "12341234")
        assert wait_until(lambda: faults(kiosk, 0) == {"board_offline"}, 15)
        with pytest.raises(LockersOutOfOrder) as refused:
            kiosk.lockers.deposit(courier, "A101", "S")
        assert refused.value.details["causes"] == {"board_offline": 1}
        assert [k for k, _ in refusals(kiosk)] == [
            "locker.full", "locker.full", "locker.unavailable", "locker.unavailable",
            "locker.unavailable"]
        assert wait_until(lambda: kiosk.outbox.pending_count() == 0, 15)
        last = kiosk.outbox.last_seq()
    finally:
        kiosk.close()

    # The plan, fed what the broker carried: the outages counted as outages, and only the
    # two full-bank refusals as unmet demand.
    assert wait_until(lambda: len(seen.messages("/event/locker.")) == 5, 15)
    plan = PlanStore(tmp_path / "plan.db")
    try:
        result = plan.ingest((m.topic, m.payload) for m in seen.messages("/event/"))
        assert result.stored == last
        ind = indicators.compute(plan, "maple-court")
    finally:
        plan.close()
        seen.stop()
    assert ind["unmet_demand"]["total"] == 2 and ind["unmet_demand"]["by_size"] == {"L": 2}
    assert ind["outages"]["total"] == 3
    assert ind["outages"]["by_size"] == {"S": 3}
    assert ind["outages"]["by_cause"] == {"board_offline": 3}


def test_codes_stuck_in_the_outbox_during_a_broker_outage_are_an_outage_not_demand(
        tmp_path, sim, broker, mock_factory):
    config = load_config(run_config(tmp_path, sim.port, broker.port))  # board 0: S 1-8
    shift = [timedelta(0)]

    def clock():
        return utc_now() + shift[0]

    def started():
        # As production_kiosk composes it, with a clock the test can move on.
        kiosk = compose(config, open_devices(config, mock_factory), clock=clock)
        kiosk.start()
        return kiosk

    seen = Collector(broker.port, ["community/+/kiosk/+/event/#"], client_id="plan",
                     clean_session=False)
    seen.wait_subscribed()
    # The community's notifier, with a persistent session on the broker: a code counts as
    # sent once its receipt is back (docs/notify.md).
    push = PushInbox().start()
    notifier_store = open_notifier_store(tmp_path / "notifier")
    ContactsDirectory(notifier_store).add("A101", push.url("A101"), "zh")
    notifier = Notifier(notifier_store, MqttConfig(host="127.0.0.1", port=broker.port,
                                                   reconnect_max_s=1),
                        NotifierSettings("maple-court"))
    notifier.start()
    assert notifier.ready.wait(10)
    kiosk = started()
    try:
        courier = kiosk.lockers.add_courier("c-1", "12341234")
        kiosk.lockers.add_household("A101")
        assert wait_until(lambda: kiosk.publisher.uplink().connected, 15)
        broker.stop()  # the uplink goes down: the codes of the next parcels wait on disk
        fill(kiosk, sim, courier, "S", 8)
        assert len(kiosk.outbox.pending_notifications()) == 8
        # A minute on, nobody could come for those parcels: an outage, not a full bank.
        shift[0] = timedelta(seconds=CODE_LATE_S + 1)
        with pytest.raises(LockersOutOfOrder) as refused:
            kiosk.lockers.deposit(courier, "A101", "S")
        assert refused.value.details["causes"] == {"code_not_sent": 8}
        assert kiosk.lockers.unavailable_sizes() == {"S"}
    finally:
        kiosk.close()

    # Restarted during the outage: still an outage.
    kiosk = started()
    try:
        courier = kiosk.lockers.courier_login("c-1", "12341234")
        with pytest.raises(LockersOutOfOrder):
            kiosk.lockers.deposit(courier, "A101", "S")
        # Control: the broker back, the codes delivered, the same request is plain full.
        broker.start()
        assert wait_until(lambda: not kiosk.outbox.pending_notifications(), 15)
        with pytest.raises(NoFreeCompartment) as refused:
            kiosk.lockers.deposit(courier, "A101", "S")
        assert type(refused.value) is NoFreeCompartment
        assert kiosk.lockers.unavailable_sizes() == set()
        assert wait_until(lambda: kiosk.outbox.pending_count() == 0, 15)
        last = kiosk.outbox.last_seq()
    finally:
        kiosk.close()
        notifier.stop()
        notifier_store.close()
        push.stop()

    assert wait_until(lambda: len(seen.messages("/event/locker.")) >= 3, 15)
    plan = PlanStore(tmp_path / "plan.db")
    try:
        result = plan.ingest((m.topic, m.payload) for m in seen.messages("/event/"))
        assert result.stored == last
        ind = indicators.compute(plan, "maple-court")
    finally:
        plan.close()
        seen.stop()
    assert ind["unmet_demand"]["total"] == 1
    assert ind["outages"]["total"] == 2 and ind["outages"]["by_cause"] == {"code_not_sent": 2}
