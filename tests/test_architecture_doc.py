"""docs/architecture.md and the project's docstrings cite files and names that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
TOPS = ("kiosk", "devices", "mqtt", "tui", "plan", "monitor", "tests", "bench", "docs",
        "systemd", "scripts")
# A path into the project: a top-level folder, then names, ending in a file's suffix.
CITED = re.compile(r"(?<![\w./-])((?:" + "|".join(TOPS)
                   + r")/[\w./-]*\w\.(?:py|md|toml|tcss|service|sh|ini|conf))")
WALK_ROW = re.compile(r"^\|\s*\d+\s*\|\s*(\S+\.py)\s*\|\s*([\w.]+)\s*\|", re.M)


def defined_names(path: Path) -> set[str]:
    """Top-level functions and classes, and ``Class.method``, of one module."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{item.name}" for item in node.body
                      if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)}
    return names


def missing_in_walks(text: str) -> list[str]:
    rows = WALK_ROW.findall(text)
    bad = []
    for file, name in rows:
        path = ROOT / file
        if not path.is_file():
            bad.append(f"{file}: no such file")
        elif name not in defined_names(path):
            bad.append(f"{file}: no {name}")
    return bad


def test_every_hop_of_the_walks_exists():
    text = DOC.read_text(encoding="utf-8")
    assert len(WALK_ROW.findall(text)) >= 16  # two walks of eight hops
    assert missing_in_walks(text) == []


def test_a_hop_that_moved_is_caught():
    # Control: a renamed method and a moved file are both reported.
    text = ("| 1 | kiosk/doors.py | DoorController.pulse | x |\n"
            "| 2 | kiosk/door.py | open_door | x |\n")
    assert missing_in_walks(text) == ["kiosk/doors.py: no DoorController.pulse",
                                      "kiosk/door.py: no such file"]


def docstrings_and_comments(path: Path) -> str:
    source = path.read_text(encoding="utf-8")
    parts = [line.split("#", 1)[1] for line in source.splitlines() if "#" in line]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node)
            if doc:
                parts.append(doc)
    return "\n".join(parts)


def cited_paths(text: str) -> set[str]:
    return set(CITED.findall(text))


def test_docstrings_comments_and_docs_cite_files_that_exist():
    missing = {}
    sources = [p for top in TOPS for p in (ROOT / top).rglob("*.py")
               if "__snapshots__" not in p.parts]
    for path in sources:
        for cited in cited_paths(docstrings_and_comments(path)):
            if not (ROOT / cited).exists():
                missing.setdefault(cited, path.relative_to(ROOT).as_posix())
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for cited in cited_paths(path.read_text(encoding="utf-8")):
            if not (ROOT / cited).exists():
                missing.setdefault(cited, path.relative_to(ROOT).as_posix())
    assert missing == {}, missing


def test_a_stale_citation_is_caught():
    # Control: the pattern finds paths in prose and backticks, not URLs or other text.
    assert cited_paths("see `kiosk/cli/wiring.py` and tests/test_x.py, "
                       "https://example.org/kiosk/a.py") == {"kiosk/cli/wiring.py",
                                                             "tests/test_x.py"}
