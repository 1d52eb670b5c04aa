"""Both catalogues complete, and the screens show nothing that is not in them."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from tui.i18n import CATALOGUES, EN, ZH, translate

TUI = Path(__file__).resolve().parent.parent / "tui"
# The kiosk's own screen; the maintainers' fleet monitor (tui/monitor.py) has its strings.
SOURCES = sorted([TUI / "app.py", *(TUI / "screens").rglob("*.py"),
                  *(TUI / "widgets").rglob("*.py")])
# Widgets whose first argument is text a person reads.
TEXT_WIDGETS = {"Static", "Label", "Button", "KeyButton", "HomeButton", "TitleBar"}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def keys_used() -> dict[str, list[str]]:
    """Every literal catalogue key in the screen's code, with where it is used."""
    used: dict[str, list[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            key = None
            if (isinstance(node, ast.Call) and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                    and ((isinstance(node.func, ast.Name) and node.func.id == "t")
                         or (isinstance(node.func, ast.Attribute) and node.func.attr == "t"))):
                key = node.args[0].value
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                  and isinstance(node.targets[0], ast.Name)
                  and node.targets[0].id == "TITLE_KEY"
                  and isinstance(node.value, ast.Constant)):
                key = node.value.value
            if key is not None:
                used.setdefault(key, []).append(f"{path.name}:{node.lineno}")
    return used


def test_both_catalogues_have_the_same_keys_and_fields():
    assert ZH.keys() == EN.keys()
    for key in ZH:
        assert fields(ZH[key]) == fields(EN[key]), key
        assert ZH[key].strip() and EN[key].strip(), key


def test_screens_ask_only_for_keys_that_exist():
    used = keys_used()
    missing = {k: where for k, where in used.items() if k not in ZH}
    assert not missing
    # A key nobody uses is a string nobody checks: keep the catalogues to what is shown.
    assert set(ZH) - set(used) == set()
    assert len(used) > 100


def test_screens_put_no_literal_text_on_screen():
    """Text widgets get their words from the catalogue, never from a string literal."""
    literals = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in TEXT_WIDGETS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) \
                        and first.value.strip():
                    literals.append(f"{path.name}:{node.lineno} {first.value!r}")
            if name == "update" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and str(first.value).strip():
                    literals.append(f"{path.name}:{node.lineno} {first.value!r}")
    assert literals == []


def test_chinese_catalogue_is_chinese_and_english_is_not():
    def has_cjk(text: str) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    # The language switch names the other language, in that language.
    switch = {"home.language", "home.language_hint"}
    zh_without = [k for k, v in ZH.items() if not has_cjk(v) and k not in switch
                  and any(ch.isalpha() for ch in v.replace("PIN", "").replace("F1", ""))
                  and len(v) > 3]
    en_with = [k for k, v in EN.items() if has_cjk(v) and k not in switch]
    assert en_with == []
    assert zh_without == []


@pytest.mark.parametrize("language", list(CATALOGUES))
def test_a_missing_key_shows_itself(language):
    assert translate(language, "no.such.key") == "no.such.key"
    assert translate(language, "pickup.wait", s=5).count("5") == 1
