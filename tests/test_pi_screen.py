"""The screen as the Pi shows it: the kiosk in foot in cage, with the shipped foot.ini and
the Noto CJK fonts, as an unprivileged user, on wlroots' headless backend (1280×720, the
pixman renderer); grim takes the screenshot.

The shipped foot.ini is used with one change: its background becomes a colour Textual
never paints, so any pixel of the display the kiosk's screen does not cover shows it.

Headless quirk: with wlroots 0.15 (cage 0.1.4, Debian 12), a window exactly the size of
a headless output is never redrawn after its first frame (the log repeats "Basic output
test failed"); an output turned by 180° (`cage -r -r`) is composited every frame, and grim
turns the picture back. A Pi's DRM output has no such trouble, so the unit has no -r.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mqtt_broker import wait_until

ROOT = Path(__file__).resolve().parent.parent
FOOT_INI = ROOT / "systemd" / "foot.ini"
TOOLS = {name: shutil.which(name) for name in ("cage", "foot", "grim")}
SENTINEL = (255, 0, 255)
TITLE = (1, 120, 212)  # Textual's primary colour: the home screen's title bar
NOBODY = 65534

needs_tools = pytest.mark.skipif(
    None in TOOLS.values() or not Path("/usr/share/fonts/opentype/noto").is_dir(),
    reason="cage, foot, grim and fonts-noto-cjk are needed (.ci/run installs them)")


def foot_version() -> tuple[int, int]:
    out = subprocess.run([TOOLS["foot"] or "foot", "--version"], capture_output=True,
                         text=True).stdout
    found = re.search(r"(\d+)\.(\d+)", out)
    assert found, out
    return int(found[1]), int(found[2])


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOOLS["foot"] or "foot", "--check-config", f"--config={path}"],
                          capture_output=True, text=True, timeout=30)


@needs_tools
def test_the_shipped_foot_ini_is_accepted_by_this_foot(tmp_path):
    result = check_config(FOOT_INI)
    assert result.returncode == 0, result.stderr
    # Control: a section this foot does not know is refused. Debian 12's 1.13 refuses the
    # [touch] of 1.15, which the shipped file therefore leaves out.
    unknown = "[touch]\nlong-press-delay=400\n" if foot_version() < (1, 15) else "[nonsense]\n"
    bad = tmp_path / "foot.ini"
    bad.write_text(FOOT_INI.read_text() + "\n" + unknown)
    assert check_config(bad).returncode != 0


def read_ppm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    magic, size, depth, pixels = data.split(b"\n", 3)
    assert magic == b"P6" and depth == b"255"
    width, height = map(int, size.split())
    return width, height, pixels


def pixel(image: tuple[int, int, bytes], x: int, y: int) -> tuple[int, int, int]:
    width, _, pixels = image
    i = (y * width + x) * 3
    return pixels[i], pixels[i + 1], pixels[i + 2]


def uncovered(image: tuple[int, int, bytes]) -> int:
    """Pixels showing the terminal's own background, not the kiosk's screen."""
    width, height, pixels = image
    sentinel = bytes(SENTINEL)
    return sum(1 for i in range(0, width * height * 3, 3) if pixels[i:i + 3] == sentinel)


def test_the_uncovered_count_sees_a_band():
    """Control for the screen test: a band of the terminal's background is counted."""
    width, height = 40, 30
    rows = [bytes(TITLE) * width] * 25 + [bytes(SENTINEL) * width] * 5
    assert uncovered((width, height, b"".join(rows))) == 5 * width
    assert uncovered((width, height, bytes(TITLE) * width * height)) == 0


def as_unprivileged() -> tuple[list[str], dict[str, str]]:
    """setpriv to nobody when we are root (the tests run as root on CI), and a Python that
    user may run: ours, or the system's of the same version with our packages on the path."""
    if os.geteuid() != 0:
        return [], {}
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "--no-new-privs"]
    # (Through env: setpriv itself may still exec what its children may not.)
    if subprocess.run([*drop, "env", sys.executable, "-c", "pass"],
                      capture_output=True).returncode == 0:
        return drop, {}
    system = "/usr/bin/python3"
    same = subprocess.run([*drop, "env", system, "-c",
                           "import sys; print(tuple(sys.version_info[:2]))"],
                          capture_output=True, text=True)
    if same.returncode != 0 or same.stdout.strip() != str(tuple(sys.version_info[:2])):
        pytest.skip("no Python the unprivileged user may run")
    import sysconfig

    return drop, {"KIOSK_PYTHON": system,
                  "PYTHONPATH": f"{ROOT}:{sysconfig.get_path('purelib')}"}


@pytest.fixture
def home() -> Iterator[Path]:
    """The unprivileged user's home, where it can reach it (pytest's tmp_path lies in a
    directory only root may enter)."""
    home = Path(tempfile.mkdtemp(prefix="kiosk-screen-"))
    (home / "run").mkdir(mode=0o700)
    if os.geteuid() == 0:
        for path in (home, home / "run"):
            os.chown(path, NOBODY, NOBODY)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@needs_tools
def test_the_home_screen_fills_a_1280x720_display(home):
    drop, extra = as_unprivileged()
    ini = home / "foot.ini"
    ini.write_text(re.sub(r"(?m)^background=\w+$", "background=ff00ff", FOOT_INI.read_text()))
    assert "background=ff00ff" in ini.read_text()
    python = extra.pop("KIOSK_PYTHON", sys.executable)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
           "XDG_RUNTIME_DIR": str(home / "run"), "WLR_BACKENDS": "headless",
           "WLR_RENDERER": "pixman", "WLR_LIBINPUT_NO_DEVICES": "1", **extra}
    if os.geteuid() == 0:
        for path in (ini,):
            os.chown(path, NOBODY, NOBODY)
    log = (home / "cage.log").open("wb")
    # As the unit runs it (cage -d -s -- foot --config=… -- kiosk …), with the headless
    # output turned round (see the module's docstring), and `kiosk demo` for the boards.
    cage = subprocess.Popen([*drop, TOOLS["cage"] or "cage", "-d", "-r", "-r", "-s", "--",
                             TOOLS["foot"] or "foot", f"--config={ini}", "--", python, "-c",
                             "from kiosk.cli.main import main; main()", "demo", "--data",
                             str(home / "demo")], env=env, stdout=log, stderr=log, cwd=home)
    shot = home / "shot.ppm"
    try:
        got: list[tuple[int, int, bytes]] = []
        display: list[str] = []

        def home_screen_drawn() -> bool:
            assert cage.poll() is None, (home / "cage.log").read_text(errors="replace")[-2000:]
            display[:] = [p.name for p in (home / "run").glob("wayland-*") if "." not in p.name]
            if not display or subprocess.run(
                    [*drop, TOOLS["grim"] or "grim", "-t", "ppm", str(shot)],
                    env={**env, "WAYLAND_DISPLAY": display[0]},
                    capture_output=True).returncode != 0:
                return False
            got[:] = [read_ppm(shot)]
            # The home screen: its title bar at the top left, its status line at the bottom.
            return pixel(got[0], 2, 2) == TITLE and pixel(got[0], 2, 717) not in (
                SENTINEL, (0, 0, 0))

        assert wait_until(home_screen_drawn, timeout=90, step=0.5), "no home screen in 90 s"
        (image,) = got
        sockets = display
        subprocess.run([*drop, TOOLS["grim"] or "grim", str(home / "shot.png")],
                       env={**env, "WAYLAND_DISPLAY": sockets[0]}, check=False)
    finally:
        cage.terminate()
        try:
            cage.wait(timeout=15)
        except subprocess.TimeoutExpired:
            cage.kill()
            cage.wait()
        log.close()
    width, height, _ = image
    assert (width, height) == (1280, 720)
    assert uncovered(image) == 0, f"a band of the display is not the kiosk's ({shot})"
    # Chinese is drawn: the CJK font was found (fontconfig names the file it loaded).
    assert "NotoSansCJK" in (home / "cage.log").read_text(errors="replace")
