"""The fleet model behind ``kiosk monitor``: alerts, dedupe, snapshots, the update hand-off."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from monitor.fleet import (
    WRONG_CODE_HOLD_S,
    BoardState,
    ConnectionChange,
    EventUpdate,
    Fleet,
    LockerState,
    Malformed,
    SeqTracker,
    StateUpdate,
    StatusUpdate,
    UpdateBuffer,
    UplinkState,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def ev(seq: int, type_: str, kiosk: str = "k1", community: str = "c", **data: object
       ) -> EventUpdate:
    return EventUpdate(community, kiosk, seq, f"id-{kiosk}-{seq}", "2026-11-29T21:00:00Z",
                       type_, dict(data))


def lockers(faults: tuple[str, ...] = (), free: dict[str, int] | None = None,
            doors_open: tuple[str, ...] = (), last_seq: int | None = None) -> StateUpdate:
    free = free if free is not None else {"S": 2, "M": 1, "L": 0}
    return StateUpdate("c", "k1", "lockers", LockerState(
        free, {"S": 4, "M": 2, "L": 1}, doors_open, (), faults, last_seq))


def alerts(fleet: Fleet, kiosk: str = "k1") -> set[tuple[str, str | None]]:
    return set(fleet.kiosks[("c", kiosk)].alerts)


class TestAlerts:
    def test_alert_events_raise_and_clearing_events_clear(self):
        fleet = Fleet()
        fleet.apply_all([
            ev(1, "door.left_open", compartment="A1", open_s=130),
            ev(2, "door.tamper", compartment="A2"),
            ev(3, "board.offline", board=1, error="timeout"),
            ev(4, "sensor.mismatch", compartment="B1", problem="parcel missing"),
        ])
        assert alerts(fleet) == {("door.left_open", "A1"), ("door.tamper", "A2"),
                                 ("board.offline", "1"), ("sensor.mismatch", "B1")}
        fleet.apply_all([
            ev(5, "door.shut", compartment="A1"),
            ev(6, "door.tamper_cleared", compartment="A2"),
            ev(7, "board.online", board=1),
        ])
        assert alerts(fleet) == {("sensor.mismatch", "B1")}
        fleet.apply(ev(8, "sensor.mismatch_cleared", compartment="B1"))
        assert alerts(fleet) == set()

    def test_clearing_one_subject_leaves_the_others(self):
        fleet = Fleet()
        fleet.apply_all([ev(1, "door.left_open", compartment="A1"),
                         ev(2, "door.left_open", compartment="A2"),
                         ev(3, "door.shut", compartment="A2")])
        assert alerts(fleet) == {("door.left_open", "A1")}

    def test_ordinary_events_are_not_alerts(self):
        fleet = Fleet()
        fleet.apply_all([ev(1, "parcel.deposited", compartment="A1", size="S"),
                         ev(2, "parcel.collected", compartment="A1"),
                         ev(3, "security.wrong_code", failures=1, wait_s=0)])
        assert alerts(fleet) == set()
        assert fleet.events_applied == 3

    def test_wrong_code_with_a_wait_is_an_alert_that_fades(self):
        clock = Clock()
        fleet = Fleet(clock=clock)
        fleet.apply(ev(1, "security.wrong_code", failures=4, wait_s=10))
        assert alerts(fleet) == {("security.wrong_code", None)}
        clock.now += WRONG_CODE_HOLD_S - 1
        assert not fleet.expire()
        clock.now += 2
        assert fleet.expire()
        assert alerts(fleet) == set()

    def test_cabinet_tamper_clears_when_closed(self):
        fleet = Fleet()
        fleet.apply(ev(1, "cabinet.tamper", opened=True))
        assert alerts(fleet) == {("cabinet.tamper", None)}
        fleet.apply(ev(2, "cabinet.tamper", opened=False))
        assert alerts(fleet) == set()

    def test_maintainer_actions_clear_review_and_jam(self):
        fleet = Fleet()
        fleet.apply_all([
            ev(1, "parcel.in_review", parcel=7, compartment="A1", reason="interrupted"),
            ev(2, "door.jammed", compartment="A3", board=0, lock=3, attempts=2),
        ])
        assert alerts(fleet) == {("parcel.in_review", "7"), ("door.jammed", "A3")}
        fleet.apply(ev(3, "audit.entry", action="parcel.review_resolved", subject="7"))
        fleet.apply(ev(4, "audit.entry", action="compartment.fault_cleared", subject="A3"))
        assert alerts(fleet) == set()

    def test_locker_full_clears_when_a_snapshot_shows_room(self):
        fleet = Fleet()
        fleet.apply(ev(1, "locker.full", size="L", outgoing=False))
        fleet.apply(lockers(free={"S": 2, "M": 0, "L": 0}))
        assert alerts(fleet) == {("locker.full", "L")}
        fleet.apply(lockers(free={"S": 2, "M": 0, "L": 1}))
        assert alerts(fleet) == set()


class TestSnapshots:
    def test_snapshot_without_the_fault_clears_its_alerts(self):
        fleet = Fleet()
        fleet.apply(ev(1, "door.jammed", compartment="A3"))
        fleet.apply(lockers(faults=("door.jammed",)))
        assert alerts(fleet) == {("door.jammed", "A3")}
        fleet.apply(lockers(faults=()))
        assert alerts(fleet) == set()

    def test_retained_snapshot_raises_faults_the_monitor_never_saw(self):
        fleet = Fleet()
        fleet.apply(lockers(faults=("door.tamper", "door.jammed")))
        assert alerts(fleet) == {("door.tamper", None), ("door.jammed", None)}
        # The event names the compartment; the anonymous alert gives way.
        fleet.apply(ev(9, "door.tamper", compartment="C2"))
        assert alerts(fleet) == {("door.tamper", "C2"), ("door.jammed", None)}

    def test_board_snapshot_raises_and_clears_board_offline(self):
        fleet = Fleet()
        down = BoardState(2, online=False, errors=5, last_error="timeout")
        fleet.apply(StateUpdate("c", "k1", "board-2", down))
        assert alerts(fleet) == {("board.offline", "2")}
        fleet.apply(StateUpdate("c", "k1", "board-2", BoardState(2, True, 5, "timeout")))
        assert alerts(fleet) == set()
        assert fleet.kiosks[("c", "k1")].boards[2].errors == 5

    def test_devices_are_kept_and_deleted_snapshots_forgotten(self):
        fleet = Fleet()
        fleet.apply(StateUpdate("c", "k1", "uplink", UplinkState(False, 42)))
        fleet.apply(StateUpdate("c", "k1", "spots", {"free": 3}))
        view = fleet.kiosks[("c", "k1")]
        assert view.uplink == UplinkState(False, 42)
        assert view.other == {"spots": {"free": 3}}
        fleet.apply(StateUpdate("c", "k1", "uplink", None))
        fleet.apply(StateUpdate("c", "k1", "spots", None))
        assert view.uplink is None and view.other == {}


class TestKiosks:
    def test_status_and_last_seen(self):
        clock = Clock()
        fleet = Fleet(clock=clock)
        fleet.apply(StatusUpdate("c", "k1", True, retained=True))
        view = fleet.kiosks[("c", "k1")]
        assert view.online is True
        assert view.last_seen is None, "a retained message says nothing about when"
        clock.now += 5
        fleet.apply(StatusUpdate("c", "k1", False))
        assert view.online is False and view.last_seen == clock.now
        assert fleet.offline_count() == 1

    def test_same_kiosk_id_in_two_communities_are_two_kiosks(self):
        fleet = Fleet()
        fleet.apply(ev(1, "parcel.deposited", community="a"))
        fleet.apply(ev(1, "parcel.deposited", community="b"))
        assert sorted(fleet.kiosks) == [("a", "k1"), ("b", "k1")]
        assert fleet.events_applied == 2

    def test_duplicates_are_dropped(self):
        fleet = Fleet()
        fleet.apply_all([ev(1, "door.tamper", compartment="A1"),
                         ev(2, "door.tamper_cleared", compartment="A1"),
                         ev(1, "door.tamper", compartment="A1")])  # redelivered
        assert alerts(fleet) == set(), "a duplicate must not raise the alert again"
        assert fleet.events_applied == 2 and fleet.duplicates == 1
        assert [e.seq for e in fleet.latest] == [1, 2]

    def test_events_kept_are_bounded_newest_last(self):
        fleet = Fleet(events_per_kiosk=3, latest_kept=4)
        fleet.apply_all(ev(s, "parcel.deposited") for s in range(1, 11))
        assert [e.seq for e in fleet.kiosks[("c", "k1")].events] == [8, 9, 10]
        assert [e.seq for e in fleet.latest] == [7, 8, 9, 10]

    def test_malformed_is_counted_per_kiosk_and_overall(self):
        fleet = Fleet()
        fleet.apply(StatusUpdate("c", "k1", True))
        fleet.apply(Malformed("community/c/kiosk/k1/status", "bad", "c", "k1"))
        fleet.apply(Malformed("elsewhere", "not a kiosk topic"))
        assert fleet.malformed == 2
        assert fleet.kiosks[("c", "k1")].malformed == 1
        assert fleet.last_malformed is not None

    def test_malformed_messages_never_make_a_kiosk(self):
        fleet = Fleet()
        fleet.apply_all(Malformed(f"community/c/kiosk/x{i}/state/lockers", "bad", "c", f"x{i}")
                        for i in range(100))
        assert fleet.malformed == 100 and fleet.kiosks == {}
        # Control: a message on the contract does make one.
        fleet.apply(StatusUpdate("c", "x1", True))
        assert list(fleet.kiosks) == [("c", "x1")]

    def test_kiosks_and_their_devices_are_bounded_and_the_rest_counted(self):
        from mqtt.contract import MAX_DEVICES_PER_KIOSK
        fleet = Fleet(max_kiosks=3)
        fleet.apply_all(StatusUpdate("c", f"k{i}", True) for i in range(10))
        assert sorted(fleet.kiosks) == [("c", "k0"), ("c", "k1"), ("c", "k2")]
        assert fleet.untracked == 7
        fleet.apply(ev(1, "parcel.deposited", kiosk="k1"))  # a known kiosk still counts
        assert fleet.events_applied == 1
        fleet.apply_all(StateUpdate("c", "k1", f"dev-{i}", {"n": i})
                        for i in range(MAX_DEVICES_PER_KIOSK + 5))
        assert len(fleet.kiosks[("c", "k1")].other) == MAX_DEVICES_PER_KIOSK
        assert fleet.untracked == 12
        # A device already known is still updated.
        fleet.apply(StateUpdate("c", "k1", "dev-0", {"n": 99}))
        assert fleet.kiosks[("c", "k1")].other["dev-0"] == {"n": 99}

    def test_connection_changes(self):
        fleet = Fleet()
        assert fleet.connected is None
        fleet.apply(ConnectionChange(False, "lost"))
        assert fleet.connected is False and fleet.connection_detail == "lost"

    def test_version_grows_with_every_change(self):
        fleet = Fleet()
        fleet.apply(ev(1, "parcel.deposited"))
        before = (fleet.version, fleet.kiosks[("c", "k1")].version)
        fleet.apply(ev(2, "parcel.deposited"))
        assert fleet.version > before[0]
        assert fleet.kiosks[("c", "k1")].version > before[1]


class TestSeqTracker:
    def test_gaps_and_duplicates(self):
        seqs = SeqTracker()
        assert [seqs.accept(s) for s in (5, 6, 8, 6, 9)] == [True, True, True, False, True]
        assert seqs.missing == 1  # 7
        assert seqs.accept(7) and seqs.missing == 0
        assert seqs.accept(3) and seqs.missing == 1  # 4, now that 3 came late

    def test_a_new_history_starts_over(self):
        seqs = SeqTracker()
        for s in range(1, SeqTracker.WINDOW + 100):
            seqs.accept(s)
        assert seqs.accept(1), "far below the window: a replaced database, not a duplicate"
        assert seqs.restarts == 1 and seqs.missing == 0

    @given(st.lists(st.integers(min_value=1, max_value=300), max_size=400))
    def test_accepts_each_number_once(self, numbers):
        seqs = SeqTracker()
        accepted = [n for n in numbers if seqs.accept(n)]
        assert sorted(accepted) == sorted(set(numbers))
        if numbers:
            assert seqs.missing == max(numbers) - min(numbers) + 1 - len(set(numbers))


class TestUpdateBuffer:
    def test_one_wake_per_batch(self):
        wakes = []
        buffer = UpdateBuffer()
        buffer.set_wake(lambda: wakes.append(1))
        for seq in range(1, 101):
            buffer.put(ev(seq, "parcel.deposited"))
        assert len(wakes) == 1
        assert [u.seq for u in buffer.drain()] == list(range(1, 101))
        buffer.put(ev(101, "parcel.deposited"))
        assert len(wakes) == 2

    def test_drain_without_rearm_leaves_the_wake_spent(self):
        wakes = []
        buffer = UpdateBuffer()
        buffer.set_wake(lambda: wakes.append(1))
        buffer.put(ev(1, "parcel.deposited"))
        assert len(buffer.drain(rearm=False)) == 1
        buffer.put(ev(2, "parcel.deposited"))
        assert len(wakes) == 1, "woken again before the frame re-armed it"
        assert [u.seq for u in buffer.drain()] == [2]
        buffer.put(ev(3, "parcel.deposited"))
        assert len(wakes) == 2

    def test_updates_before_the_wake_is_set_are_not_lost(self):
        wakes = []
        buffer = UpdateBuffer()
        buffer.put(StatusUpdate("c", "k1", True, retained=True))
        buffer.set_wake(lambda: wakes.append(1))
        assert wakes == [1] and len(buffer.drain()) == 1

    def test_limit_drops_oldest_and_counts(self):
        buffer = UpdateBuffer(limit=3)
        for seq in range(1, 6):
            buffer.put(ev(seq, "parcel.deposited"))
        assert [u.seq for u in buffer.drain()] == [3, 4, 5]
        assert buffer.dropped == 2

    def test_nothing_is_stranded_across_threads(self):
        buffer = UpdateBuffer()
        woken = threading.Event()
        buffer.set_wake(woken.set)
        got: list[EventUpdate] = []
        total = 20_000

        def produce() -> None:
            for seq in range(1, total + 1):
                buffer.put(ev(seq, "parcel.deposited"))

        producer = threading.Thread(target=produce)
        producer.start()
        # The consumer only drains when woken, as the app does: every update must arrive.
        while len(got) < total:
            assert woken.wait(5), f"stranded after {len(got)} updates"
            woken.clear()
            got.extend(buffer.drain())  # type: ignore[arg-type]
        producer.join()
        assert [u.seq for u in got] == list(range(1, total + 1))


class TestNewerFaults:
    """The faults issue 12 added: raised by their events, ended by theirs or a snapshot."""

    def test_each_is_raised_by_its_event_and_ended_by_its_clearing_event(self):
        fleet = Fleet()
        raising = [ev(1, "board.polarity_suspect", board=1, setting="[board] lock_bit_locked"),
                   ev(2, "kiosk.disk_full", error="database or disk is full"),
                   ev(3, "kiosk.worker_failed", where="DepositScreen.settle",
                      error="ValueError"),
                   ev(4, "door.jammed", compartment="A3"),
                   ev(5, "locker.unavailable", size="M", causes={"board_offline": 2})]
        fleet.apply_all(raising)
        assert alerts(fleet) == {("board.polarity_suspect", "1"), ("kiosk.disk_full", None),
                                 ("kiosk.worker_failed", "DepositScreen.settle"),
                                 ("door.jammed", "A3"), ("locker.unavailable", "M")}
        fleet.apply_all([ev(6, "board.polarity_cleared", board=1),
                         ev(7, "kiosk.disk_ok"),
                         ev(8, "kiosk.worker_recovered", where="DepositScreen.settle"),
                         ev(9, "door.jam_cleared", compartment="A3", board=0, lock=3)])
        assert alerts(fleet) == {("locker.unavailable", "M")}
        # Room for an M parcel (an L is free): the outage's refusal is over.
        fleet.apply(lockers(free={"S": 2, "M": 0, "L": 0}))
        fleet.apply(lockers(free={"S": 2, "M": 0, "L": 0}))
        assert alerts(fleet) == {("locker.unavailable", "M")}  # control: no room yet
        fleet.apply(lockers(free={"S": 2, "M": 0, "L": 1}))
        assert alerts(fleet) == set()

    def test_a_snapshot_made_before_the_event_does_not_end_it_a_later_one_does(self):
        fleet = Fleet()
        fleet.apply(ev(5, "kiosk.worker_failed", where="PickupScreen.check_code",
                       error="KeyError"))
        fleet.apply(lockers(faults=(), last_seq=4))  # made before the event, arrived after
        assert alerts(fleet) == {("kiosk.worker_failed", "PickupScreen.check_code")}
        fleet.apply(lockers(faults=(), last_seq=5))
        assert alerts(fleet) == set()
        fleet.apply(ev(6, "locker.unavailable", size="S", causes={"jammed": 1}))
        fleet.apply(lockers(free={"S": 1, "M": 0, "L": 0}, last_seq=5))
        assert alerts(fleet) == {("locker.unavailable", "S")}
        fleet.apply(lockers(free={"S": 1, "M": 0, "L": 0}, last_seq=6))
        assert alerts(fleet) == set()
        # A fault only a snapshot knows of (its event was before the monitor started).
        fleet.apply(lockers(faults=("board.polarity_suspect", "kiosk.disk_full")))
        assert alerts(fleet) == {("board.polarity_suspect", None), ("kiosk.disk_full", None)}
        fleet.apply(lockers(faults=()))
        assert alerts(fleet) == set()
