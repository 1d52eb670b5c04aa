"""The topic contract is built and taken apart in one module, ``mqtt/topics.py``
(DESIGN §2): no other Python source of the project writes a topic level of ours into a
string or splits a topic at '/'. Tests are exempt (they check the contract from outside,
with topics written out by hand on purpose).

The scan reads string literals (f-strings with their placeholders as ``{}``) and calls
``….split("/")`` on something named like a topic; docstrings and ``help=``/``description=``
prose for people are not code that builds topics, so they are skipped.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mqtt import topics

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = Path("mqtt/topics.py")
# Every level name of the contract (Home Assistant's "config" too), and our two roots.
LEVELS = {"kiosk", "event", "state", "status", "notify", "plan", "config"}
ROOTS = {topics.ROOT, topics.DISCOVERY_PREFIX}
PLACEHOLDERS = {"{}", "+", "#", ""}
PROSE = {"help", "description", "epilog", "usage"}
SPLITS = {"split", "rsplit", "partition", "rpartition"}


def _topic_like(word: str) -> bool:
    levels = word.strip("`'\"()[],;").split("/")
    if len(levels) < 2:
        return False
    if word.startswith("/"):
        # "/event/" is a topic fragment; "/etc/kiosk/…" or "/proc/{}/status" is a file.
        return levels[1] in LEVELS
    if levels[0] in ROOTS:
        return True
    # A contract level next to a value or a wildcard: "{}/status", "+/state/#".
    return any(level in LEVELS and (
        (i > 0 and levels[i - 1] in PLACEHOLDERS)
        or (i + 1 < len(levels) and levels[i + 1] in PLACEHOLDERS))
        for i, level in enumerate(levels))


def topic_literals(source: str) -> list[tuple[int, str]]:
    """(line, what) of every place in ``source`` that writes or splits a topic."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            skipped.add(id(body[0].value))
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in PROSE:
                    skipped.update(id(n) for n in ast.walk(keyword.value))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.JoinedStr):
            skipped.update(id(v) for v in node.values)
            text = "".join(str(v.value) if isinstance(v, ast.Constant) else "{}"
                           for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in SPLITS and node.args
              and isinstance(node.args[0], ast.Constant) and node.args[0].value == "/"
              and "topic" in ast.unparse(node.func.value).lower()):
            found.append((node.lineno, ast.unparse(node)))
            continue
        else:
            continue
        found.extend((node.lineno, word) for word in text.split() if _topic_like(word))
    return found


def project_sources() -> list[Path]:
    """Every Python file of the project outside tests/ (new packages are found by themselves)."""
    return sorted(p.relative_to(ROOT) for p in ROOT.glob("*/**/*.py")
                  if not p.relative_to(ROOT).parts[0].startswith((".", "tests")))


def test_topics_are_written_only_in_the_contract_module():
    sources = project_sources()
    assert CONTRACT in sources and Path("monitor/feed.py") in sources
    offenders = [f"{path}:{line}: {what}" for path in sources if path != CONTRACT
                 for line, what in topic_literals((ROOT / path).read_text(encoding="utf-8"))]
    assert offenders == [], "build or parse these topics with mqtt/topics.py:\n" + "\n".join(
        offenders)


def test_the_scan_finds_what_the_contract_module_writes():
    # Control on real code: the contract module itself is full of what the scan looks for.
    found = {what for _, what in topic_literals((ROOT / CONTRACT).read_text(encoding="utf-8"))}
    assert {"{}/status", "{}/event/{}", "{}/state/{}", "{}/notify/{}", "{}/{}/plan/{}",
            "{}/{}/kiosk/+", "{}/event/#"} <= found
    assert any(what.startswith("topic.split") for what in found)


@pytest.mark.parametrize("line", [
    'TOPIC = f"community/{c}/kiosk/{k}/status"',
    'topic = prefix + "/event/" + kind',
    'topic = f"{prefix}/state/{device}"',
    'filters = ["community/+/kiosk/+/state/#"]',
    'config = f"homeassistant/sensor/{node}/free/config"',
    'config = f"{topics.DISCOVERY_PREFIX}/{component}/{node}/{object_id}/config"',
    'wanted = "/notify/" in message.topic',
    'parts = message.topic.split("/")',
    'community, _, rest = topic.partition("/")',
])
def test_the_scan_finds_a_hand_written_topic(line):
    assert topic_literals(line), line


@pytest.mark.parametrize("line", [
    'def f():\n    """Reads ``community/{id}/kiosk/{k}/status`` (docs/mqtt.md)."""',
    'parser.add_argument("--x", help="publishes under community/{id}/plan/…")',
    'status = Path(f"/proc/{pid}/status").read_text()',
    'config = "/etc/kiosk/kiosk.toml"',
    'label = "producer 1 event/step"',
    'community, _, kiosk = key.partition("/")',
    'ok = topics.status_topic(c, k)',
])
def test_the_scan_lets_prose_paths_and_contract_calls_be(line):
    assert topic_literals(line) == [], line


class TestParse:
    def test_every_built_topic_parses_back(self):
        assert topics.parse(topics.status_topic("c1", "k1")) == topics.KioskTopic(
            "c1", "k1", "status", "")
        assert topics.parse(topics.event_topic("c1", "k1", "door.jammed")) == topics.KioskTopic(
            "c1", "k1", "event", "door.jammed")
        assert topics.parse(topics.state_topic("c1", "k1", topics.board_device(3))) \
            == topics.KioskTopic("c1", "k1", "state", "board-3")
        assert topics.parse(topics.notify_topic("c1", "k1", "3/12")) == topics.KioskTopic(
            "c1", "k1", "notify", "3%2F12")

    @pytest.mark.parametrize("topic", [
        "",
        "community",
        "community/c1/kiosk/k1",
        "community//kiosk/k1/status",
        "community/c1/kiosk//status",
        "community/c1/kiosk/k1/status/x",
        "community/c1/kiosk/k1/event/",
        "community/c1/kiosk/k1/event/a/b",
        "community/c1/kiosk/k1/command/open",
        "community/c1/plan/spots",
        "homeassistant/sensor/c1_k1/free_s/config",
        "/community/c1/kiosk/k1/status",
        "community/c+/kiosk/k1/status",
        "community/c1/kiosk/k#/status",
        "community/c1/kiosk/k1/state/lockers\x00",
        "community/c1/kiosk/k1/event/" + "x" * (topics.MAX_LEVEL + 1),
        "community/c1/kiosk/k1/event/x" + "/" * topics.MAX_TOPIC,
        "community/c1/kiosk/" + "k" * 70_000 + "/status",
    ])
    def test_anything_else_is_refused(self, topic):
        assert topics.parse(topic) is None

    def test_the_kiosk_of_a_stray_topic(self):
        # Off the contract but under a kiosk's prefix: a consumer can still say whose it is.
        assert topics.kiosk_of("community/c1/kiosk/k1/state/a/b") == ("c1", "k1")
        assert topics.kiosk_of("community/c1/kiosk/k1/command/open") == ("c1", "k1")
        for topic in ("community/c1/plan/spots", "community//kiosk/k1/status",
                      "community/c1/kiosk/k1", "community/c1/kiosk/" + "k" * 5000 + "/status"):
            assert topics.kiosk_of(topic) is None, topic

    def test_board_devices(self):
        assert topics.board_of(topics.board_device(12)) == 12
        for device in ("lockers", "board-", "board-x", "board-12345", "board-1/x"):
            assert topics.board_of(device) is None, device

    def test_built_levels_are_bounded_and_plain(self):
        for bad in ("", "a/b", "a+", "#", "a\x00", "x" * (topics.MAX_LEVEL + 1)):
            with pytest.raises(ValueError):
                topics.segment(bad)
            with pytest.raises(ValueError):
                topics.status_topic(bad, "k1")

    def test_filters(self):
        assert topics.events_of(topics.ANY) == topics.ALL_EVENTS == "community/+/kiosk/+/event/#"
        assert topics.events_of("c1") == "community/c1/kiosk/+/event/#"
        assert topics.states_of("+", "lockers") == "community/+/kiosk/+/state/lockers"
        assert topics.notify_of("c1", "k1") == "community/c1/kiosk/k1/notify/+"
        assert topics.public_of("c1") == ["community/c1/kiosk/+/status",
                                          "community/c1/kiosk/+/state/#",
                                          "community/c1/kiosk/+/event/#"]
        assert topics.discovery_topic("sensor", "c1_k1", "free_s") \
            == "homeassistant/sensor/c1_k1/free_s/config"
        for bad in ("", "c/#", "#", "c+"):
            with pytest.raises(ValueError):
                topics.check_community(bad)
