"""Outage is not scarcity (issue 12): a deposit refused because compartments are out of
order is an outage for the maintainers, never unmet demand for the plan.

On the composition ``kiosk run`` builds: the real serial driver on the pty board
simulator, the health poll on the scheduler, the real publisher and a real mosquitto.
"""

from __future__ import annotations

import pytest

from kiosk.config import load_config
from kiosk.lockers.model import LockersOutOfOrder, NoFreeCompartment
from kiosk.setups.production import production_kiosk
from plan import indicators
from plan.store import PlanStore
from tests.mqtt_broker import Collector, wait_until
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
        courier = kiosk.lockers.add_courier("c-1", "1234", pseudonym="c-one")
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
        courier = kiosk.lockers.courier_login("1234")
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
