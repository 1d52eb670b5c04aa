"""Dependencies point inwards (DESIGN §2): the core stays free of UI, MQTT and hardware
libraries and of the packages around it; the transport knows nothing of its consumers; the
monitor's fleet model is plain Python; the plan and the monitor never pull in Textual."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("textual", "paho", "serial", "gpiozero")
# Our packages around the core, each of which may import the core, never the reverse.
OUTER = ("devices", "mqtt", "plan", "monitor", "tui")


def modules_of(package: str, *, without: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        package + "." + p.relative_to(ROOT / package).with_suffix("").as_posix()
        .replace("/", ".")
        for p in (ROOT / package).rglob("*.py")
        if not set(without) & set(p.relative_to(ROOT).parts)
        and p.name not in ("__main__.py", "__init__.py"))


def top_levels_imported(modules: list[str]) -> set[str]:
    """Top-level packages in sys.modules after importing ``modules`` in a fresh process."""
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return set(out.stdout.strip().split(","))


def test_core_imports_no_adapter_library():
    # The command line and the setups (the devices and people each command plugs into the
    # composition) are apart from the core (DESIGN §2); the composition root and the
    # feature modules are in it: they import adapters only inside the functions that
    # start them.
    core = modules_of("kiosk", without=("cli", "setups"))
    assert len(core) >= 3
    imported = top_levels_imported(core)
    assert imported & set(FORBIDDEN) == set(), f"core imported {imported & set(FORBIDDEN)}"
    assert imported & set(OUTER) == set(), f"core imported {imported & set(OUTER)}"


def test_the_transport_knows_nothing_of_its_consumers():
    transport = modules_of("mqtt")
    assert "mqtt.topics" in transport and "mqtt.publisher" in transport
    imported = top_levels_imported(transport)
    assert "paho" in imported  # the control: this is the package that may use paho
    bad = imported & {"textual", "serial", "gpiozero", "plan", "monitor", "tui", "devices"}
    assert bad == set(), f"mqtt/ imported {bad}"


def test_the_plan_and_the_monitor_are_no_ui_and_no_hardware():
    for package in ("plan", "monitor"):
        modules = modules_of(package)
        assert len(modules) >= 2, package
        bad = top_levels_imported(modules) & {"textual", "serial", "gpiozero", "tui",
                                              "devices"}
        assert bad == set(), f"{package}/ imported {bad}"


def test_the_fleet_model_is_plain_python():
    imported = top_levels_imported(["monitor.fleet"])
    assert "monitor" in imported
    # The contract's plain checks (mqtt/contract.py, mqtt/topics.py) are shared with the
    # plan; paho (in FORBIDDEN) is what must stay out.
    bad = imported & {*FORBIDDEN, "plan", "tui", "devices"}
    assert bad == set(), f"monitor/fleet.py imported {bad}"
