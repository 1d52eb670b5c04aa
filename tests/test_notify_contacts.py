"""The contacts directory from the command line: CSV import all or nothing with every bad
line named, add, remove, list, test-send; audited without the contact itself."""

from __future__ import annotations

import logging

import pytest

from kiosk.cli.main import main
from notify.contacts import ContactsDirectory
from notify.store import open_notifier_store
from tests.notify_support import PushInbox, SmtpInbox

GOOD = "mailto://127.0.0.1:2525?from=kiosk@example.org&to=wang@example.org&mode=insecure"


def directory(data) -> ContactsDirectory:
    return ContactsDirectory(open_notifier_store(data))


def contacts_of(data) -> list[tuple[str, str, str]]:
    d = directory(data)
    try:
        return [(c.household, c.url, c.language) for c in d.all()]
    finally:
        d.store.close()


def test_an_import_with_bad_lines_changes_nothing_and_names_each(tmp_path, capsys):
    data = tmp_path / "n"
    csv = tmp_path / "contacts.csv"
    csv.write_text("household,url,language,label\n"
                   f"A101,{GOOD},zh,Wang\n"
                   "A102,not a url,zh,\n"
                   f"A103,{GOOD},fr,\n"
                   "A104,json://127.0.0.1:9/x\n"
                   f"A101,{GOOD},zh,again\n"
                   "\n"
                   "B201,ntfy://ntfy.example.org/b201-secret,en,\n", encoding="utf-8")
    assert main(["notify", "contacts", "import", str(csv), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "nothing changed" in err
    for line, what in ((3, "url"), (4, "language"), (5, "expected 3 or 4 fields"),
                       (6, "the same contact as line 2")):
        assert f"line {line}: " in err and what in err
    assert "line 2:" not in err and "line 8:" not in err
    # The URLs are private: not repeated even when wrong.
    assert "wang@example.org" not in err and "not a url" not in err
    assert contacts_of(data) == []

    # Control: the same file with its bad lines fixed goes in whole.
    csv.write_text("household,url,language,label\n"
                   f"A101,{GOOD},zh,Wang\n"
                   "B201,ntfy://ntfy.example.org/b201-secret,en,\n", encoding="utf-8")
    assert main(["notify", "contacts", "import", str(csv), "--data", str(data)]) == 0
    assert len(contacts_of(data)) == 2
    # Importing it again adds nothing twice.
    assert main(["notify", "contacts", "import", str(csv), "--data", str(data)]) == 0
    assert len(contacts_of(data)) == 2


@pytest.mark.parametrize("text, why", [
    ("", "header"), ("name,phone\nA101,123\n", "header"), (b"\xff\xfe", "UTF-8"),
])
def test_a_file_that_is_no_contact_list_is_refused(tmp_path, capsys, text, why):
    csv = tmp_path / "c.csv"
    csv.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert main(["notify", "contacts", "import", str(csv), "--data", str(tmp_path / "n")]) == 2
    assert why in capsys.readouterr().err


def test_add_remove_list_are_audited_without_the_contact(tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    data = str(tmp_path / "n")
    assert main(["notify", "contacts", "add", "A101", GOOD, "--language", "en",
                 "--data", data]) == 0
    assert main(["notify", "contacts", "add", "A101", "ntfy://ntfy.example.org/a101-x",
                 "--data", data]) == 0
    assert main(["notify", "contacts", "add", "A101", GOOD, "--data", data]) == 2  # twice
    assert main(["notify", "contacts", "add", "A102", GOOD, "--language", "de",
                 "--data", data]) == 2
    capsys.readouterr()
    assert main(["notify", "contacts", "list", "--data", data]) == 0
    listed = capsys.readouterr().out
    assert "A101" in listed and "mailto://" in listed and "wang@example.org" not in listed
    assert main(["notify", "contacts", "remove", "A101", "--id", "1", "--data", data]) == 0
    assert main(["notify", "contacts", "remove", "A999", "--data", data]) == 2
    assert main(["notify", "contacts", "remove", "A101", "--data", data]) == 0
    d = directory(tmp_path / "n")
    try:
        audit = d.audit()
    finally:
        d.store.close()
    assert [(a["action"], a["household"], a["channel"], a["contacts_after"]) for a in audit] == [
        ("add", "A101", "mailto", 1), ("add", "A101", "ntfy", 2),
        ("remove", "A101", "mailto", 1), ("remove", "A101", "ntfy", 0)]
    everything = str(audit) + caplog.text
    assert "wang@example.org" not in everything and "a101-x" not in everything


def test_test_send_reaches_each_contact_and_fails_loudly_for_a_dead_one(tmp_path, capsys):
    smtp = SmtpInbox().start()
    push = PushInbox().start()
    data = str(tmp_path / "n")
    try:
        assert main(["notify", "contacts", "add", "A101", smtp.url("wang@example.org"),
                     "--data", data]) == 0
        assert main(["notify", "contacts", "add", "A101", push.url("A101"), "--language",
                     "en", "--data", data]) == 0
        assert main(["notify", "test-send", "A101", "--data", data]) == 0
        assert len(smtp.to("wang@example.org")) == 1 and len(push.at("A101")) == 1
        assert "社区通知服务测试" in smtp.to("wang@example.org")[0].subject
        push.fail = True
        assert main(["notify", "test-send", "A101", "--data", data]) == 1
        assert "FAILED" in capsys.readouterr().out
        assert main(["notify", "test-send", "B202", "--data", data]) == 2
    finally:
        smtp.stop()
        push.stop()


def test_the_service_needs_its_broker_data_and_community(tmp_path, capsys):
    assert main(["notify"]) == 2
    assert "--community" in capsys.readouterr().err
    assert main(["notify", "--broker", "127.0.0.1:1883", "--data", str(tmp_path),
                 "--community", "Bad/Id"]) == 2
    assert main(["notify", "--broker", "127.0.0.1:99999", "--data", str(tmp_path),
                 "--community", "c"]) == 2
