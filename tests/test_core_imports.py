"""The core stays free of UI, MQTT and hardware libraries (DESIGN §2)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("textual", "paho", "serial", "gpiozero")


def test_core_imports_no_adapter_library():
    core = sorted(
        "kiosk." + p.relative_to(ROOT / "kiosk").with_suffix("").as_posix().replace("/", ".")
        for p in (ROOT / "kiosk").rglob("*.py")
        # The command line and the setups (the devices and people each command plugs into
        # the composition) are apart from the core (DESIGN §2).
        if "cli" not in p.parts and "setups" not in p.parts
        and p.name != "__main__.py" and p.name != "__init__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {core!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "", f"core imported {out.stdout.strip()}"
    assert len(core) >= 3
