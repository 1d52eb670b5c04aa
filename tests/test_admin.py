"""Administrative changes are audited, public without personal data, and refused cleanly."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.admin import Admin
from kiosk.audit import AuditLog, verify
from kiosk.lockers.model import LockerError
from tests.lockers_setup import build_lockers

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def admin(tmp_path, sim, bus):
    lockers = build_lockers(tmp_path / "kiosk.db", bus, sim.port)
    yield Admin(lockers.service, AuditLog(lockers.service.store, lockers.outbox))
    lockers.service.store.close()


def test_households_and_couriers_are_audited_without_units_or_pins(admin):
    household = admin.add_household("m-ana", "moved in", "a101", pin="24682468")
    admin.add_household("m-ana", "forgot PIN", "A101", pin="13571357")
    courier = admin.add_courier("m-ana", "new canteen courier", "courier-7", "43214321")
    admin.retire_courier("m-bo", "left the co-op", "courier-7")
    entries = admin.audit.entries()
    assert [(e.action, e.subject) for e in entries] == [
        ("household.added", household.pseudonym), ("household.changed", household.pseudonym),
        ("courier.added", courier.pseudonym), ("courier.retired", courier.pseudonym)]
    public = json.dumps([e.data for e in admin.lockers.outbox.events()])
    assert "A101" not in public and "24682468" not in public and "courier-7" not in public
    assert verify(entries) == []
    with pytest.raises(LockerError):
        admin.lockers.courier_login("courier-7", "43214321")


def test_bad_changes_leave_nothing_behind(admin):
    with pytest.raises(LockerError):
        admin.add_courier("m-ana", "x", "courier-8", "12")
    with pytest.raises(LockerError):
        admin.add_household("m-ana", "x", "B202", pin="ab")
    with pytest.raises(LockerError):
        admin.retire_courier("m-ana", "x", "nobody")
    assert admin.audit.entries() == []
    assert admin.lockers.units() == []


def test_a_changed_config_is_audited_once(admin):
    assert admin.record_config("kiosk_id = 'k1'\n", "kiosk.toml")
    assert not admin.record_config("kiosk_id = 'k1'\n", "kiosk.toml")
    assert admin.record_config("kiosk_id = 'k2'\n", "kiosk.toml")
    assert [e.action for e in admin.audit.entries()] == ["config.changed", "config.changed"]


def test_cli_adds_a_courier_who_can_then_log_in(tmp_path, monkeypatch):
    """``kiosk people`` acts as the authenticated actor its PIN names, never free text."""
    import os

    def kiosk(*args, pin=None):
        env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_PIN", "KIOSK_ACTOR")}
        if pin is not None:
            env["KIOSK_PIN"] = pin
            env["KIOSK_ACTOR"] = "role:chair"
        return subprocess.run([sys.executable, "-m", "kiosk", *args, "--data",
                               str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                              timeout=60, env=env, stdin=subprocess.DEVNULL)

    def entries() -> list[dict]:
        out = kiosk("audit", "export")
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    assert kiosk("duty", "role", "chair", "--pin", "70000170", "--reason",
                 "assembly of 2026-02-01").returncode == 0
    hire = ("people", "courier", "courier-9", "--pin", "86428642", "--reason", "hired")
    # Free text is gone, and so is acting without a PIN or with one nobody holds.
    gone = kiosk(*hire, "--by", "literally anyone", pin="70000170")
    assert gone.returncode == 2 and "--by" in gone.stderr
    anonymous = kiosk(*hire)
    assert anonymous.returncode == 2 and "KIOSK_PIN" in anonymous.stderr
    wrong = kiosk(*hire, pin="12345612")
    assert wrong.returncode == 2 and "not authenticated" in wrong.stderr
    assert "Traceback" not in anonymous.stderr + wrong.stderr
    assert [e["action"] for e in entries()] == ["duty.role_added"]  # nothing changed
    # Control: the chair's PIN acts, and every change is in the chain under its name.
    out = kiosk(*hire, pin="70000170")
    assert out.returncode == 0, out.stderr
    bad = kiosk("people", "courier", "courier-10", "--pin", "1", "--reason", "hired",
                pin="70000170")
    assert bad.returncode == 2 and "8-12 digits" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert kiosk("people", "household", "B-202", "--pin", "24682468", "--reason", "moved in",
                 pin="70000170").returncode == 0
    assert kiosk("people", "retire-courier", "courier-9", "--reason", "left",
                 pin="70000170").returncode == 0
    changes = [(e["actor"], e["action"]) for e in entries()][1:]
    assert changes == [("role:chair", "courier.added"), ("role:chair", "household.added"),
                       ("role:chair", "courier.retired")]
    verified = kiosk("audit", "verify")
    assert verified.returncode == 0 and "4 entries" in verified.stdout
