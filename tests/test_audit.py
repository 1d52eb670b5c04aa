import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.audit import AuditLog, verify
from kiosk.events import Outbox
from kiosk.schema import open_kiosk_store


@pytest.fixture
def audit(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    yield AuditLog(store, Outbox(store))
    store.close()


def _fill(audit, n):
    for i in range(n):
        with audit.store.step() as db:
            audit.append(db, f"m-{i % 3}", "door.force", f"A{i:02d}", "resident locked out",
                         {"i": i})
    return [e.to_dict() for e in audit.entries()]


def test_intact_chain_verifies_and_each_entry_is_published(audit):
    entries = _fill(audit, 5)
    assert verify(entries) == []
    published = [e for e in audit.outbox.events() if e.type == "audit.entry"]
    assert [e.data["hash"] for e in published] == [e["hash"] for e in entries]


def test_an_action_without_reason_is_refused(audit):
    with pytest.raises(ValueError), audit.store.step() as db:
        audit.append(db, "m-1", "door.force", "A01", "  ")
    assert audit.entries() == []


def test_edit_is_named(audit):
    entries = _fill(audit, 5)
    entries[2]["reason"] = "nothing to see"
    assert verify(entries) == ["entry 3: content was edited (door.force A02)"]


def test_edit_in_the_database_is_found(audit):
    _fill(audit, 3)
    audit.store.db.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 2")
    problems = verify(audit.entries())
    assert problems and problems[0].startswith("entry 2: content was edited")


def test_removal_is_named(audit):
    entries = _fill(audit, 5)
    del entries[1]
    assert "entry 3 at position 2: expected entry 2 (entries removed)" in verify(entries)


def test_reorder_is_named(audit):
    entries = _fill(audit, 5)
    entries[1], entries[2] = entries[2], entries[1]
    problems = verify(entries)
    assert problems[0].startswith("entry 3 at position 2")


def test_rehashed_forgery_still_breaks_the_chain(audit):
    from kiosk.audit import entry_hash

    entries = _fill(audit, 4)
    forged = dict(entries[1], reason="forged")
    forged["hash"] = entry_hash(*(forged[k] for k in (
        "seq", "ts", "actor", "action", "subject", "reason", "data", "prev_hash")))
    entries[1] = forged
    assert verify(entries) == ["entry 3: does not follow the entry before it "
                               "(entries removed or reordered)"]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_single_tampering_is_caught(tmp_path_factory, data):
    store = open_kiosk_store(tmp_path_factory.mktemp("a") / "k.db")
    log = AuditLog(store, Outbox(store))
    entries = _fill(log, 6)
    store.close()
    i = data.draw(st.integers(0, 5))
    kind = data.draw(st.sampled_from(["edit", "remove", "swap", "data"]))
    if kind == "edit":
        field = data.draw(st.sampled_from(["ts", "actor", "action", "subject", "reason"]))
        entries[i][field] = entries[i][field] + "x"
    elif kind == "data":
        entries[i]["data"] = json.loads(json.dumps(entries[i]["data"])) | {"extra": 1}
    elif kind == "remove":
        if i == 5:
            return  # removing the newest entry is only detectable against a published copy
        del entries[i]
    else:
        j = (i + 1) % 6
        entries[i], entries[j] = entries[j], entries[i]
    assert verify(entries)


def _kiosk(*args, cwd):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=root,
                          capture_output=True, text=True, timeout=60)


def test_cli_verify_names_edits_and_a_removed_newest_entry(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    log = AuditLog(store, Outbox(store))
    _fill(log, 3)
    ok = _kiosk("audit", "verify", "--data", str(tmp_path), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "3 entries" in ok.stdout
    store.db.execute("DELETE FROM audit WHERE seq = 3")
    store.close()
    bad = _kiosk("audit", "verify", "--data", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 1
    assert "entry 3: published but missing from the log" in bad.stdout


def test_cli_verify_a_published_copy(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    log = AuditLog(store, Outbox(store))
    entries = _fill(log, 3)
    store.close()
    entries[0]["subject"] = "B01"
    copy = tmp_path / "copy.jsonl"
    copy.write_text("\n".join(json.dumps(e) for e in entries))
    out = _kiosk("audit", "verify", "--file", str(copy), cwd=tmp_path)
    assert out.returncode == 1
    assert "entry 1: content was edited" in out.stdout
    copy.write_text("not json\n")
    out = _kiosk("audit", "verify", "--file", str(copy), cwd=tmp_path)
    assert out.returncode == 2 and "copy.jsonl:1: not an audit entry" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_without_database_says_so(tmp_path):
    out = _kiosk("audit", "verify", "--data", str(tmp_path / "none"), cwd=tmp_path)
    assert out.returncode == 2 and "no kiosk database" in out.stderr


def test_an_entry_that_could_not_be_published_whole_is_refused_and_nothing_committed(
        tmp_path):
    """Witnesses take a chain event of at most 4 MiB: the kiosk never commits an entry whose
    event would be larger (it would be a gap in every copy for good). Counted in bytes of
    UTF-8, reason and data alike; an entry of exactly the bound goes out whole."""
    from datetime import UTC, datetime

    from kiosk.audit import GENESIS, MAX_ENTRY_BYTES, AuditEntry, EntryTooLarge, entry_bytes
    from kiosk.events import iso
    from mqtt import topics
    from mqtt.contract import MAX_CHAIN_PAYLOAD
    from witness.core import Witness
    from witness.service import handle

    now = datetime(2026, 12, 1, tzinfo=UTC)
    store = open_kiosk_store(tmp_path / "kiosk.db")
    audit = AuditLog(store, Outbox(store, lambda: now), clock=lambda: now)
    reason = "车位表" * 1000  # a reason's text counts as its UTF-8 bytes

    def note(total: int) -> dict:
        """Data that makes the entry exactly ``total`` bytes."""
        bare = AuditEntry(1, iso(now), "m-1", "member.import", "register", reason,
                          {"note": ""}, GENESIS, GENESIS)
        wide, narrow = divmod(total - entry_bytes(bare), 3)
        return {"note": "车" * wide + "a" * narrow}

    try:
        with pytest.raises(EntryTooLarge) as refused, store.step() as db:
            audit.append(db, "m-1", "member.import", "register", reason,
                         note(MAX_ENTRY_BYTES + 1))
        assert refused.value.reason == "chain_entry_too_large"
        assert refused.value.details == {"bytes": MAX_ENTRY_BYTES + 1,
                                         "limit": MAX_ENTRY_BYTES}
        assert audit.entries() == [] and audit.outbox.pending_count() == 0

        # Control: at the bound it is committed, and its event, with the longest ids a
        # kiosk can have, is one a witness takes whole.
        with store.step() as db:
            entry = audit.append(db, "m-1", "member.import", "register", reason,
                                 note(MAX_ENTRY_BYTES))
        assert entry_bytes(entry) == MAX_ENTRY_BYTES and len(audit.entries()) == 1
        community, kiosk = "c" * 63, "k" * 63
        [(_, _, payload)] = audit.outbox.pending_payloads(community, kiosk)
        assert MAX_CHAIN_PAYLOAD - 1024 < len(payload.encode()) <= MAX_CHAIN_PAYLOAD
        witness = Witness(tmp_path / "witness.db")
        try:
            assert handle(witness, topics.event_topic(community, kiosk, "audit.entry"),
                          payload.encode()) == []
            assert witness.held(community, kiosk, "audit") == [entry.to_dict()]
        finally:
            witness.close()
    finally:
        store.close()
