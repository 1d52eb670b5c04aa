import pytest

from kiosk import events
from kiosk.events import Outbox
from kiosk.schema import open_kiosk_store
from kiosk.store import Store


@pytest.fixture
def outbox(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    yield Outbox(store)
    store.close()


def test_seq_starts_at_one_without_gaps_and_rollback_takes_no_number(outbox):
    with outbox.store.step() as db:
        outbox.append(db, "a", {})
    with pytest.raises(RuntimeError), outbox.store.step() as db:
        outbox.append(db, "b", {})
        raise RuntimeError("step failed")
    with outbox.store.step() as db:
        outbox.append(db, "c", {})
    assert [(e.seq, e.type) for e in outbox.events()] == [(1, "a"), (2, "c")]


def test_acks_out_of_order_leave_exactly_the_unacked(outbox):
    for i in range(5):
        with outbox.store.step() as db:
            outbox.append(db, "x", {"i": i})
    outbox.mark_published([4, 2])
    assert [e.seq for e in outbox.pending()] == [1, 3, 5]
    assert outbox.pending_count() == 3


def test_private_keys_are_refused_at_any_depth(outbox):
    with pytest.raises(ValueError, match="private"), outbox.store.step() as db:
        outbox.append(db, "x", {"parcels": [{"code": "ABC123"}]})
    assert outbox.last_seq() == 0


def test_append_outside_a_step_is_refused(outbox):
    with pytest.raises(RuntimeError):
        outbox.append(outbox.store.db, "x", {})


def test_notifications_leave_only_when_a_receipt_names_them(outbox):
    with outbox.store.step() as db:
        outbox.notify(db, "h-1", "pickup_code", {"code": "K7PX9M"})
        outbox.notify(db, "h-2", "pickup_code", {"code": "K7PX9N"})
    first, second = outbox.pending_notifications()
    assert first.data["code"] == "K7PX9M" and len(first.uid) == 32 and first.uid != second.uid
    # A receipt for an id the kiosk never sent changes nothing (control: a real one does).
    assert outbox.delivered(["0" * 32]) == []
    assert len(outbox.pending_notifications()) == 2
    assert [n.id for n in outbox.delivered([first.uid, first.uid])] == [first.id]
    assert outbox.pending_notifications() == [second]
    assert outbox.undelivered_count() == 1


def test_notifications_of_an_older_kiosk_get_an_id(tmp_path):
    store = Store(tmp_path / "k.db", {"events": events.MIGRATIONS[:1]})
    store.db.execute("INSERT INTO notifications (household, ts, kind, data) "
                     "VALUES ('h-1', 'now', 'pickup_code', '{}')")
    store.db.conn.commit()
    store.close()
    store = open_kiosk_store(tmp_path / "k.db")
    [note] = Outbox(store).pending_notifications()
    assert len(note.uid) == 32
    store.close()


def test_reopening_keeps_state_and_does_not_rerun_migrations(tmp_path):
    store = open_kiosk_store(tmp_path / "k.db")
    outbox = Outbox(store)
    with store.step() as db:
        outbox.append(db, "x", {})
    store.close()
    store = open_kiosk_store(tmp_path / "k.db")
    assert Outbox(store).last_seq() == 1
    assert store.schema_version("events") == len(events.MIGRATIONS)
    store.close()
