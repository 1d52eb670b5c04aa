"""Installs that repeat: the sdist carries what the installer needs, the wheel is built from
it without a single warning and carries the licence, the version is written once, and
the installers take the tested versions (constraints.txt)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from kiosk import __version__

ROOT = Path(__file__).resolve().parent.parent
# A warning of the build (not a file whose name holds the word, like idle_warning.py).
WARNING = re.compile(r"(?i:\bwarning\b)|[a-z]Warning\b|(?i:deprecat)")
# What scripts/install-pi.sh copies from the checkout, and what an offline install needs.
INSTALLER_FILES = ["LICENSE", "constraints.txt", "scripts/install-pi.sh", "scripts/wheelhouse",
                   "scripts/setup", "systemd/kiosk.service", "systemd/kiosk-plan.service",
                   "systemd/foot.ini", "systemd/kiosk.toml.example", "systemd/pam.d/kiosk",
                   "systemd/mosquitto/kiosk.conf", "systemd/mosquitto/acl.example",
                   "systemd/mosquitto/bridge.conf.example", "docs/deploy.md"]


def build(kind: str, source: Path, out: Path) -> str:
    # No isolation: the test venv has the pinned setuptools, and nothing is downloaded.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", kind, "-o",
                             str(out), str(source)], capture_output=True, text=True, env=env,
                            timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> tuple[Path, Path, str]:
    out = tmp_path_factory.mktemp("dist")
    log = build("--sdist", ROOT, out)
    (sdist,) = out.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(out / "unpacked", filter="data")
    (unpacked,) = (out / "unpacked").iterdir()
    # The wheel from the sdist, as pip builds it on a Pi from a release archive.
    log += build("--wheel", unpacked, out)
    (wheel,) = out.glob("*.whl")
    return sdist, wheel, log


def test_the_build_says_no_warning(dists):
    _, _, log = dists
    assert [line for line in log.splitlines() if WARNING.search(line)] == []


def test_the_wheel_carries_the_licence_and_the_one_version(dists):
    _, wheel, _ = dists
    assert wheel.name == f"community_kiosk-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        info = f"community_kiosk-{__version__}.dist-info"
        assert f"{info}/licenses/LICENSE" in names
        licence = whl.read(f"{info}/licenses/LICENSE").decode()
        metadata = whl.read(f"{info}/METADATA").decode()
    assert "GNU AFFERO GENERAL PUBLIC LICENSE" in licence and "Version 3" in licence
    assert "License-Expression: AGPL-3.0-or-later" in metadata
    assert f"\nVersion: {__version__}\n" in metadata
    assert "tui/locale/zh.toml" in names


def test_the_sdist_carries_what_the_installer_needs(dists):
    sdist, _, _ = dists
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = [f for f in INSTALLER_FILES if f not in names]
    assert missing == []


def test_the_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert project["license"] == "AGPL-3.0-or-later"
    shown = subprocess.run([sys.executable, "-c", "from kiosk.cli.main import main; "
                            "main(['--version'])"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert shown.stdout.strip() == f"kiosk (community-kiosk) {__version__}"


def test_constraints_pin_every_dependency_exactly():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[\w.+-]+", version), line
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    names = {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0]).lower()
             for d in wanted}
    assert names - set(pins) == set()


def test_every_installer_installs_with_the_constraints():
    for script in ("scripts/setup", "scripts/install-pi.sh", "scripts/wheelhouse"):
        text = (ROOT / script).read_text()
        assert "constraints.txt" in text and re.search(r"-c \S*constraints\.txt", text), script
    pi = (ROOT / "scripts" / "install-pi.sh").read_text()
    assert "--no-index --find-links \"$WHEELHOUSE\"" in pi


def test_setup_does_nothing_once_done(tmp_path):
    """./scripts/demo runs scripts/setup at every launch: once set up, it returns at once
    without a word, until pyproject.toml or constraints.txt change."""
    if not (ROOT / ".venv" / ".kiosk-setup").exists():
        pytest.skip("this checkout was not set up by scripts/setup")
    done = subprocess.run([str(ROOT / "scripts" / "setup")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout + done.stderr == ""
    # Control: a copy of the checkout whose pyproject.toml changed would install again.
    (tmp_path / "scripts").mkdir()
    for name in ("scripts/setup", "pyproject.toml", "constraints.txt"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / "scripts" / "setup").chmod(0o755)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    setup = [str(tmp_path / "scripts" / "setup"), "--check"]
    assert subprocess.run(setup, timeout=60).returncode == 0
    with (tmp_path / "pyproject.toml").open("a") as file:
        file.write("# changed\n")
    assert subprocess.run(setup, timeout=60).returncode == 1
