"""Needs and proposals in the core and on the command line (kiosk/needs.py,
kiosk/cli/needs.py): support once per household, withdrawable, published without who."""

from __future__ import annotations

import json

import pytest

from kiosk.cli.main import main
from kiosk.cli.needs import KINDS as CLI_KINDS
from kiosk.cli.needs import TOPICS as CLI_TOPICS
from kiosk.events import PRIVATE_KEYS, Outbox
from kiosk.needs import KINDS, MAX_TEXT, TOPICS, NeedError, NeedsBook, clean_text, tag
from kiosk.schema import open_kiosk_store


@pytest.fixture
def book(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    with store.step() as db:
        for unit, pseudonym in (("101", "h-ash"), ("102", "h-birch"), ("103", "h-cedar")):
            db.execute("INSERT INTO households (unit, pseudonym) VALUES (?, ?)",
                       (unit, pseudonym))
    outbox = Outbox(store)
    yield NeedsBook(store, outbox)
    store.close()


def events(book: NeedsBook) -> list[tuple[str, dict]]:
    return [(e.type, e.data) for e in book.outbox.events() if e.type.startswith("need.")]


def test_a_need_is_raised_supported_once_per_household_and_withdrawn(book):
    need = book.raise_need("101", "need", "We need more large lockers, parcels pile up")
    assert (need.topic, need.size, need.support) == ("lockers", "L", 1)
    assert book.support("102", need.id).support == 2
    with pytest.raises(NeedError) as twice:
        book.support("102", need.id)
    assert twice.value.reason == "already_supported"
    # The raiser counts once too: raising was its support.
    with pytest.raises(NeedError):
        book.support("101", need.id)
    assert book.get(need.id).support == 2
    assert book.withdraw("102", need.id).support == 1
    with pytest.raises(NeedError) as again:
        book.withdraw("102", need.id)
    assert again.value.reason == "not_supported"
    assert book.support("102", need.id).support == 2  # support can be given again
    closed = book.withdraw("101", need.id)
    assert closed.state == "withdrawn"
    assert book.needs() == []
    with pytest.raises(NeedError) as gone:
        book.support("103", need.id)
    assert gone.value.reason == "need_closed"
    assert [t for t, _ in events(book)] == [
        "need.raised", "need.supported", "need.support_withdrawn", "need.supported",
        "need.withdrawn"]
    assert [d.get("support") for _, d in events(book)] == [1, 2, 1, 2, 1]


def test_events_say_nothing_about_who(book):
    need = book.raise_need("101", "proposal", "A bench by the parcel lockers")
    book.support("102", need.id)
    book.withdraw("102", need.id)
    text = json.dumps([d for _, d in events(book)])
    for who in ("101", "102", "h-ash", "h-birch", "household"):
        assert who not in text
    assert not PRIVATE_KEYS & {k for _, d in events(book) for k in d}
    # Control: the need's own words are there, so the check reads the real payloads.
    assert "A bench by the parcel lockers" in text


def test_bad_input_is_refused_with_a_reason_and_changes_nothing(book):
    before = len(book.outbox.events())
    cases = [(("999", "need", "more lockers"), "unknown_household"),
             (("101", "wish", "more lockers"), "bad_kind"),
             (("101", "need", "  \u202e\x00 "), "bad_text"),
             (("101", "need", "x" * (MAX_TEXT + 1)), "bad_text")]
    for args, reason in cases:
        with pytest.raises(NeedError) as refused:
            book.raise_need(*args)
        assert refused.value.reason == reason
    with pytest.raises(NeedError) as no_such:
        book.support("101", 42)
    assert no_such.value.reason == "no_need"
    assert len(book.outbox.events()) == before
    assert book.needs() == []
    # Control: the same household and text are accepted with a kind that exists.
    assert book.raise_need("101", "need", "more lockers").id == 1


def test_the_text_loses_control_and_bidi_characters():
    assert clean_text("gate\u202e broken\x00\x07\n\tnow\u200b") == "gate broken now"
    assert clean_text("大件\u2066柜\u2069不够") == "大件柜不够"
    assert clean_text("plain words") == "plain words"


def test_tagging_finds_topic_and_size_in_both_languages():
    assert tag("More LARGE lockers please") == ("lockers", "L")
    assert tag("大格口不够用") == ("lockers", "L")
    assert tag("The gate is broken") == ("doors", None)
    assert tag("更多车位") == ("parking", None)
    assert tag("A garden") == ("other", None)


def test_the_cli_choices_match_the_core():
    assert (CLI_KINDS, CLI_TOPICS) == (KINDS, TOPICS)


def test_the_command_line_raises_supports_withdraws_and_lists(tmp_path, capsys):
    d = str(tmp_path)
    store = open_kiosk_store(tmp_path / "kiosk.db")
    with store.step() as db:
        db.execute("INSERT INTO households (unit, pseudonym) VALUES ('101', 'h-a'), "
                   "('102', 'h-b')")
    store.close()
    assert main(["needs", "raise", "The gate is broken", "--kind", "fault",
                 "--household", "101", "--data", d]) == 0
    assert "need #1 raised (fault, doors)" in capsys.readouterr().out
    assert main(["needs", "support", "#1", "--household", "102", "--data", d]) == 0
    assert main(["needs", "support", "1", "--household", "102", "--data", d]) == 2
    assert "already supports need 1" in capsys.readouterr().err
    assert main(["needs", "list", "--json", "--data", d]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(n["need"], n["support"], n["kind"]) for n in listed] == [(1, 2, "fault")]
    assert main(["needs", "withdraw", "1", "--household", "102", "--data", d]) == 0
    assert main(["needs", "list", "--data", d]) == 0
    assert "#1      1 support  fault" in capsys.readouterr().out
    assert main(["needs", "raise", "x", "--household", "101", "--data", d]) == 2
    assert "at least 3 characters" in capsys.readouterr().err
