"""Both catalogues complete, and the screens show nothing that is not in them.

The catalogues are tui/locale/<language>.toml and the runbooks tui/runbooks/<language>/*.md,
read by tui/i18n.py."""

from __future__ import annotations

import ast
import copy
import string
import tomllib
from collections.abc import Mapping
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tui.i18n import (
    CATALOGUES,
    EN,
    LANGUAGES,
    PLURAL_RULES,
    ZH,
    Entry,
    forms,
    parse_runbook,
    plural_form,
    translate,
)

ROOT = Path(__file__).resolve().parent.parent
TUI = ROOT / "tui"
# The kiosk's own screen and the maintainers' fleet monitor.
SOURCES = sorted([TUI / "app.py", TUI / "monitor.py", *(TUI / "screens").rglob("*.py"),
                  *(TUI / "widgets").rglob("*.py")])
PLURAL_CATEGORIES = {"zero", "one", "two", "few", "many", "other"}
# Widgets whose first argument is text a person reads.
TEXT_WIDGETS = {"Static", "Label", "Button", "KeyButton", "HomeButton", "TitleBar"}


def fields(entry: Entry) -> set[str]:
    """The named fields of an entry, over all its plural forms."""
    return {name for template in forms(entry)
            for _, name, _, _ in string.Formatter().parse(template) if name}


def catalogue_problems(catalogues: Mapping[str, Mapping[str, Entry]]) -> list[str]:
    """What keeps the catalogues from matching: a key one language lacks, a field one
    language's text has and another's not, an empty text, a broken plural."""
    problems = []
    keys = set().union(*(c.keys() for c in catalogues.values()))
    for key in sorted(keys):
        entries = {language: c[key] for language, c in catalogues.items() if key in c}
        problems += [f"{language} lacks {key}" for language in catalogues
                     if language not in entries]
        try:
            found = {language: fields(entry) for language, entry in entries.items()}
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
            continue
        if len({frozenset(f) for f in found.values()}) > 1:
            shown = {language: sorted(f) for language, f in found.items()}
            problems.append(f"{key} fields differ: {shown}")
        for language, entry in entries.items():
            if not all(isinstance(text, str) and text.strip() for text in forms(entry)):
                problems.append(f"{language} {key} is empty")
            if isinstance(entry, dict):
                wanted = {PLURAL_RULES[language](n) for n in range(200)}
                if not set(entry) <= PLURAL_CATEGORIES or not wanted <= set(entry):
                    problems.append(f"{language} {key} plural forms {sorted(entry)}, "
                                    f"wants {sorted(wanted)}")
                if "n" not in fields(entry):
                    problems.append(f"{key} is plural but has no {{n}} to pick the form")
    return problems


def keys_used() -> dict[str, list[str]]:
    """Every literal catalogue key in the screen's code, with where it is used."""
    used: dict[str, list[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            key: object = None
            if (isinstance(node, ast.Call) and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                    and ((isinstance(node.func, ast.Name) and node.func.id == "t")
                         or (isinstance(node.func, ast.Attribute) and node.func.attr == "t"))):
                key = node.args[0].value
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "Binding" and len(node.args) >= 3
                  and isinstance(node.args[2], ast.Constant)):
                key = node.args[2].value  # the monitor's key labels (relabel_bindings)
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                  and isinstance(node.targets[0], ast.Name)
                  and node.targets[0].id == "TITLE_KEY"
                  and isinstance(node.value, ast.Constant)):
                key = node.value.value
            elif (path.name == "prompts.py" and isinstance(node, ast.Constant)
                  and isinstance(node.value, str) and node.value.startswith("speech.")):
                key = node.value  # the spoken prompts' keys, by screen and step
            if isinstance(key, str):
                used.setdefault(key, []).append(f"{path.name}:{getattr(node, 'lineno', 0)}")
    return used


def reasons_raised() -> set[str]:
    """Every string constant in the domain code: a ``refusal.<reason>`` key is looked up by
    the reason a refusal carries (tui/refusals.py), so it is used if the domain names
    that reason anywhere."""
    return {node.value for path in (ROOT / "kiosk").rglob("*.py")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_both_catalogues_have_the_same_keys_and_fields():
    assert ZH.keys() == EN.keys()
    for key in ZH:
        assert fields(ZH[key]) == fields(EN[key]), key
        assert all(text.strip() for text in forms(ZH[key]) + forms(EN[key])), key
    assert catalogue_problems(CATALOGUES) == []


def test_a_missing_key_or_field_is_caught():
    """The control: the check above does find what it is meant to find."""
    def doctored(change) -> dict[str, dict[str, Entry]]:
        catalogues = copy.deepcopy(CATALOGUES)
        change(catalogues)
        return catalogues

    assert catalogue_problems(doctored(lambda c: c["en"].pop("pickup.title"))) == [
        "en lacks pickup.title"]
    assert catalogue_problems(doctored(lambda c: c["zh"].pop("runbook.door_jammed.fix"))) == [
        "zh lacks runbook.door_jammed.fix"]
    assert catalogue_problems(doctored(
        lambda c: c["zh"].update({"pickup.wait": "请等待后再试。"}))) == [
        "pickup.wait fields differ: {'zh': [], 'en': ['s']}"]
    assert catalogue_problems(doctored(
        lambda c: c["en"].update({"pickup.opened": {"other": "{n} doors opened:"}}))) == [
        "en pickup.opened plural forms ['other'], wants ['one', 'other']"]
    plural_with_a_stray_field = {"one": "{n} parcel {x}", "other": "{n} parcels"}
    assert catalogue_problems(doctored(
        lambda c: c["en"].update({"deposit.count": plural_with_a_stray_field}))) == [
        "deposit.count fields differ: {'zh': ['n'], 'en': ['n', 'x']}"]
    assert catalogue_problems(doctored(lambda c: c["en"].update({"pickup.done": " "}))) == [
        "en pickup.done is empty"]
    assert catalogue_problems(doctored(lambda c: c["en"].update({"pickup.done": "{"}))) != []


def test_the_locale_files_are_what_the_catalogues_hold():
    for language in LANGUAGES:
        text = (TUI / "locale" / f"{language}.toml").read_text(encoding="utf-8")
        assert text.startswith("# Add a key"), "each file says how to add a key and a plural"
        entries = tomllib.loads(text)
        assert entries.items() <= CATALOGUES[language].items()
        assert set(CATALOGUES[language]) - set(entries) == {
            k for k in CATALOGUES[language] if k.startswith("runbook.") and k.count(".") == 2}


def test_plural_forms():
    parcels = {"one": "{n} parcel", "other": "{n} parcels"}
    assert plural_form("en", parcels, 1).format(n=1) == "1 parcel"
    assert plural_form("en", parcels, 2).format(n=2) == "2 parcels"
    assert plural_form("en", parcels, 0).format(n=0) == "0 parcels"
    assert plural_form("zh", "{n} 件", 1) == plural_form("zh", "{n} 件", 2) == "{n} 件"
    assert plural_form("zh", {"other": "{n} 件"}, 1) == "{n} 件"
    assert plural_form("en", parcels, "") == "{n} parcels"  # no number: the general form
    assert translate("en", "pickup.opened", n=1) == "1 door opened for you:"
    assert translate("en", "pickup.opened", n=2) == "2 doors opened for you:"
    assert translate("zh", "pickup.opened", n=1) == "已为您打开 1 个柜门："
    assert translate("zh", "pickup.opened", n=2) == "已为您打开 2 个柜门："
    assert translate("en", "maintenance.faults", n=1).startswith("1 fault —")
    assert translate("en", "reconcile.found", n=3).startswith("3 mismatches (")
    assert translate("en", "monitor.kiosks", n=1) == "1 kiosk"
    assert translate("en", "monitor.alerts", n=2) == "2 alerts"


def test_screens_build_no_plural_by_hand():
    hand_made = [f"{language} {key}" for language in LANGUAGES
                 for key, entry in CATALOGUES[language].items()
                 for text in forms(entry) if "(s)" in text or "(es)" in text]
    assert hand_made == []
    for path in SOURCES:
        code = path.read_text(encoding="utf-8")
        assert '"s" if' not in code and "'s' if" not in code, path.name


def test_a_missing_field_shows_itself_and_does_not_crash():
    assert translate("en", "pickup.wait", other=1) == "Please wait {s} s before the next try."
    assert translate("en", "pickup.wait") == "Please wait {s} s before the next try."


def test_screens_ask_only_for_keys_that_exist():
    used = keys_used()
    missing = {k: where for k, where in used.items() if k not in ZH}
    assert not missing
    # A key nobody uses is a string nobody checks: keep the catalogues to what is shown.
    reasons = reasons_raised()
    by_reason = {k for k in ZH if k.startswith("refusal.") and k[len("refusal."):] in reasons}
    assert set(ZH) - set(used) - by_reason == set()
    # Control: a reason the domain never names would not count as used.
    assert "no_such_reason" not in reasons and "short_pin" in reasons
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
    zh_without = [k for k, e in ZH.items() for v in forms(e) if not has_cjk(v)
                  and k not in switch
                  and any(ch.isalpha() for ch in v.replace("PIN", "").replace("F1", ""))
                  and len(v) > 3]
    en_with = [k for k, e in EN.items() for v in forms(e) if has_cjk(v) and k not in switch]
    assert en_with == []
    assert zh_without == []


@pytest.mark.parametrize("language", list(CATALOGUES))
def test_a_missing_key_shows_itself(language):
    assert translate(language, "no.such.key") == "no.such.key"
    assert translate(language, "pickup.wait", s=5).count("5") == 1


# --- runbooks -----------------------------------------------------------------------------

RUNBOOKS = TUI / "runbooks"


def test_every_runbook_is_in_both_languages():
    names = {language: sorted(p.name for p in (RUNBOOKS / language).glob("*.md"))
             for language in LANGUAGES}
    assert names["zh"] == names["en"]
    assert len(names["en"]) >= 11
    for language in LANGUAGES:
        for name in names[language]:
            parsed = parse_runbook((RUNBOOKS / language / name).read_text(encoding="utf-8"))
            assert parsed is not None, f"{language}/{name} needs a # title and two ## sections"
            fault = name.removesuffix(".md")
            assert parsed == tuple(CATALOGUES[language][f"runbook.{fault}.{part}"]
                                   for part in ("title", "check", "fix"))


def test_runbook_headings_are_the_screens():
    """The two sections' headings are what the screen shows above them."""
    for language in LANGUAGES:
        for path in (RUNBOOKS / language).glob("*.md"):
            headings = [line[3:] for line in path.read_text(encoding="utf-8").splitlines()
                        if line.startswith("## ")]
            assert headings == [translate(language, "runbook.check"),
                                translate(language, "runbook.fix")], path.name


def test_every_fault_the_screen_knows_has_a_runbook():
    used = keys_used()
    faults = {key.split(".")[1] for key in used
              if key.startswith("runbook.") and key.endswith(".title")}
    assert faults >= {"board_offline", "door_jammed", "sensor_mismatch", "other"}
    for fault in faults:
        for language in LANGUAGES:
            assert (RUNBOOKS / language / f"{fault}.md").is_file(), (language, fault)


def test_parse_runbook():
    assert parse_runbook("# T {door}\n\n## a\n\n1. x\n2. y\n\n## b\n\nz\n") == (
        "T {door}", "1. x\n2. y", "z")
    assert parse_runbook("# T\n\n## a\n\nx\n") is None
    assert parse_runbook("## a\nx\n## b\ny\n") is None


def test_catalogues_and_runbooks_ship_as_package_data():
    """An installed (not editable) kiosk reads them from the package: pyproject must list
    them, or the wheel leaves them out."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["tui"]
    data = [p.relative_to(TUI).as_posix() for p in [*(TUI / "locale").iterdir(),
                                                    *RUNBOOKS.glob("*/*")]]
    assert data
    assert [name for name in data if not any(fnmatch(name, pat) for pat in patterns)] == []


async def test_the_monitor_speaks_chinese_when_asked():
    from monitor.fleet import UpdateBuffer
    from tui.monitor import KioskTable, MonitorApp

    app = MonitorApp(UpdateBuffer(), "broker:1883", language="zh")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.title == "终端监控"
        labels = {b.binding.description for b in app.screen.active_bindings.values()}
        assert {"退出", "筛选", "只看告警", "详情"} <= labels
        table = app.query_one(KioskTable)
        assert [str(c.label) for c in table.columns.values()][:2] == ["终端", "状态"]
        assert "0 台终端" in str(app.summary.content)
    english = MonitorApp(UpdateBuffer(), "broker:1883")
    assert english.title == "Kiosk fleet monitor"
    with pytest.raises(ValueError):
        MonitorApp(UpdateBuffer(), "broker:1883", language="fr")
