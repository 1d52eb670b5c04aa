"""The units pass `systemd-analyze verify` without a single warning, and stay hardened.

The units name binaries of the Pi (/opt/kiosk/.venv/bin/kiosk) that this machine lacks;
verify rightly complains about those, so we verify copies with that one path pointed at
an existing program and demand silence about everything else.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "systemd"
# Every unit we ship, also those added later: the checklist below holds each to it.
UNIT_FILES = tuple(sorted(p.name for p in UNITS.glob("*.service")))
PI_KIOSK = "/opt/kiosk/.venv/bin/kiosk"

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)")


def copies(tmp_path: Path, edit=lambda name, text: text) -> list[Path]:
    out = []
    for name in UNIT_FILES:
        text = (UNITS / name).read_text(encoding="utf-8")
        path = tmp_path / name
        path.write_text(edit(name, text.replace(PI_KIOSK, sys.executable)), encoding="utf-8")
        out.append(path)
    return out


def verify(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, "verify", "--man=no", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


@needs_analyze
def test_units_verify_without_any_warning(tmp_path):
    result = verify(copies(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).strip() == ""


@needs_analyze
def test_verify_would_catch_a_mistake(tmp_path):
    """Guards the test above: a typo or a bad value makes verify speak."""
    def spoil(name: str, text: str) -> str:
        return text.replace("WatchdogSec=", "WatchdogSecs=").replace("RestartSec=", "RestartSec=x")

    result = verify(copies(tmp_path, spoil))
    assert "Unknown key" in result.stderr or "Failed to parse" in result.stderr


@needs_analyze
@pytest.mark.parametrize("name", UNIT_FILES)
def test_units_stay_hardened(tmp_path, name):
    path = next(p for p in copies(tmp_path) if p.name == name)
    result = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager", str(path)],
                            capture_output=True, text=True, timeout=120)
    if "--offline" in result.stderr and result.returncode != 0:
        pytest.skip("this systemd-analyze has no --offline")
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 3.0  # systemd rates 0 (locked down) to 10 (exposed)


def settings(name: str) -> dict[str, list[str]]:
    """Unit file as key -> every value, prefixed by its section."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in (UNITS / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key}", []).append(value)
    return out


def test_kiosk_unit_keeps_the_appliance_contract():
    s = settings("kiosk.service")
    assert s["Service.Type"] == ["notify"]
    # The notifying process is cage's grandchild.
    assert s["Service.NotifyAccess"] == ["all"]
    assert int(s["Service.WatchdogSec"][0]) > 0
    assert s["Service.Restart"] == ["on-failure"]
    assert "Unit.StartLimitBurst" in s and "Unit.StartLimitIntervalSec" in s
    assert s["Service.StateDirectory"] == ["kiosk"]
    groups = s["Service.SupplementaryGroups"][0].split()
    assert {"gpio", "dialout"} <= set(groups)
    (exec_start,) = s["Service.ExecStart"]
    assert "/usr/bin/cage" in exec_start and "/usr/bin/foot" in exec_start
    assert "env -u WATCHDOG_PID /opt/kiosk/.venv/bin/kiosk run --config" in exec_start
    assert s["Service.TTYPath"] == ["/dev/tty1"]
    assert s["Service.DevicePolicy"] == ["closed"]
    allowed = {v.split()[0] for v in s["Service.DeviceAllow"]}
    assert {"char-gpiochip", "char-ttyUSB", "char-ttyAMA", "char-drm", "/dev/tty1"} <= allowed
    assert s["Service.ProtectSystem"] == ["strict"]
    assert s["Service.ExecStartPre"] == [
        "/opt/kiosk/.venv/bin/kiosk config check /etc/kiosk/kiosk.toml"]


def test_the_pam_service_the_unit_names_is_shipped():
    (pam_name,) = settings("kiosk.service")["Service.PAMName"]
    pam = (UNITS / "pam.d" / pam_name).read_text(encoding="utf-8")
    assert re.search(r"^session\s+required\s+pam_systemd\.so", pam, re.M)


# --- the hardening checklist, for every unit in systemd/ ------------------------------------

# Settings every long-running service of ours has, with the value it must have.
HARDENING = {
    "Service.NoNewPrivileges": "yes", "Service.ProtectSystem": "strict",
    "Service.ProtectHome": "yes", "Service.PrivateTmp": "yes",
    "Service.ProtectKernelTunables": "yes", "Service.ProtectKernelModules": "yes",
    "Service.ProtectKernelLogs": "yes", "Service.ProtectControlGroups": "yes",
    "Service.ProtectClock": "yes", "Service.ProtectHostname": "yes",
    "Service.RestrictNamespaces": "yes", "Service.RestrictRealtime": "yes",
    "Service.RestrictSUIDSGID": "yes", "Service.LockPersonality": "yes",
    "Service.CapabilityBoundingSet": "", "Service.SystemCallArchitectures": "native",
    "Service.Restart": "on-failure",
}
# A unit that must reach beyond this machine says why in a comment starting so; every
# other one is held to loopback (IPAddressDeny=any, IPAddressAllow=localhost).
NEEDS_NETWORK = "# Needs the network:"


def checklist(name: str, text: str | None = None) -> list[str]:
    """What a unit lacks of the checklist; empty when it passes."""
    text = (UNITS / name).read_text(encoding="utf-8") if text is None else text
    s: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            s.setdefault(f"{section}.{key}", []).append(value)
    wrong = [f"{key}={want}" for key, want in HARDENING.items() if s.get(key, [None])[-1] != want]
    if not any("@system-service" in v for v in s.get("Service.SystemCallFilter", [])):
        wrong.append("SystemCallFilter=@system-service")
    families = " ".join(s.get("Service.RestrictAddressFamilies", ["AF_PACKET"]))
    if "AF_PACKET" in families or not families:
        wrong.append("RestrictAddressFamilies= without AF_PACKET")
    if "Unit.StartLimitBurst" not in s:
        wrong.append("StartLimitBurst=")
    if NEEDS_NETWORK not in text and (s.get("Service.IPAddressDeny") != ["any"] or
                                      s.get("Service.IPAddressAllow") != ["localhost"]):
        wrong.append("IPAddressDeny=any + IPAddressAllow=localhost (or a '# Needs the "
                     "network:' comment saying why not)")
    if s.get("Service.Type", ["simple"])[-1] != "oneshot":
        watchdog = s.get("Service.WatchdogSec", ["0"])[-1]
        if s.get("Service.Type") != ["notify"] or not watchdog.isdigit() or int(watchdog) <= 0:
            wrong.append("Type=notify with WatchdogSec= (a long-running service pings it)")
    return wrong


@pytest.mark.parametrize("name", UNIT_FILES)
def test_every_unit_passes_the_hardening_checklist(name):
    assert checklist(name) == []


def test_the_checklist_can_fail():
    """Control: a unit without its watchdog, filter or address fence is caught."""
    text = (UNITS / "kiosk-plan.service").read_text(encoding="utf-8")
    for key in ("WatchdogSec=", "SystemCallFilter=", "IPAddressDeny=", "NoNewPrivileges="):
        spoilt = "\n".join(ln for ln in text.splitlines() if not ln.startswith(key))
        assert checklist("kiosk-plan.service", spoilt) != [], key
    assert len(UNIT_FILES) >= 2
