"""Every string the kiosk and the maintainers' monitor show, in Chinese (the default) and
English.

The strings live in data files a volunteer can edit without reading Python:

- ``tui/locale/<language>.toml``: one ``"area.name" = "text"`` line per key. Values are
  ``str.format`` templates with named fields. A key with plural forms has a line per form,
  ``"area.name".one = "{n} door"`` and ``"area.name".other = "{n} doors"`` (TOML makes
  them a table); the value ``n`` picks the form by ``PLURAL_RULES``, so callers write
  ``t("area.name", n=2)`` as for any other key. Chinese needs only the plain string.
- ``tui/runbooks/<language>/<fault>.md``: a fault's runbook, ``# title`` then two ``##``
  sections (what to check, how to fix it). Each file gives the keys
  ``runbook.<fault>.title``, ``.check`` and ``.fix``, so screens ask for them like any
  other string. See tui/runbooks/README.md.

Both are read once, when a language is first used, from the installed package
(``importlib.resources``), so they ship as package data. Both languages have the same
keys and fields: a test checks it (tests/test_tui_i18n.py). At run time nothing here
raises for a missing key or field: a missing key shows itself and a missing field shows
as ``{field}``, to be seen and fixed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable

LANGUAGES = ("zh", "en")

# A plain string, or a plural key's forms by CLDR category ("one", "other", …).
Entry = str | dict[str, str]


def _english_plural(n: int) -> str:
    return "one" if n == 1 else "other"


# Which plural form a number takes, per language; Chinese has one form for every number.
PLURAL_RULES: dict[str, Callable[[int], str]] = {
    "zh": lambda n: "other",
    "en": _english_plural,
}


def parse_runbook(text: str) -> tuple[str, str, str] | None:
    """``(title, check, fix)`` of a runbook file, or None if it lacks its ``#`` title or its
    two ``##`` sections. Section lines are kept as written, so the screen shows them so."""
    title = None
    sections: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            sections.append([])
        elif line.startswith("# ") and title is None and not sections:
            title = line[2:].strip()
        elif sections:
            sections[-1].append(line)
    if title is None or len(sections) != 2:
        return None
    check, fix = ("\n".join(lines).strip("\n") for lines in sections)
    return title, check, fix


def _runbooks(folder: Traversable) -> dict[str, str]:
    entries: dict[str, str] = {}
    if not folder.is_dir():
        return entries
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".md"):
            continue
        parsed = parse_runbook(path.read_text(encoding="utf-8"))
        if parsed is None:
            continue  # shows as missing keys: the catalogue test names them
        fault = path.name.removesuffix(".md")
        for part, text in zip(("title", "check", "fix"), parsed, strict=True):
            entries[f"runbook.{fault}.{part}"] = text
    return entries


def load(language: str) -> dict[str, Entry]:
    """One language's catalogue: its TOML file, then its runbooks."""
    root = files("tui")
    text = root.joinpath("locale", f"{language}.toml").read_text(encoding="utf-8")
    catalogue: dict[str, Entry] = dict(tomllib.loads(text))
    catalogue.update(_runbooks(root.joinpath("runbooks", language)))
    return catalogue


class Catalogues(Mapping[str, dict[str, Entry]]):
    """Every language's catalogue, each read the first time it is asked for: a kiosk
    shows one language until someone switches, so the other is not read (nor kept in
    memory) before its first frame (bench/bench_tui.py)."""

    def __init__(self) -> None:
        self._read: dict[str, dict[str, Entry]] = {}

    def __getitem__(self, language: str) -> dict[str, Entry]:
        catalogue = self._read.get(language)
        if catalogue is None:
            if language not in LANGUAGES:
                raise KeyError(language)
            catalogue = self._read[language] = load(language)
        return catalogue

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


CATALOGUES = Catalogues()


def __getattr__(name: str) -> dict[str, Entry]:
    # ``ZH`` and ``EN``, as before, read when first named.
    if name in ("ZH", "EN"):
        return CATALOGUES[name.lower()]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def forms(entry: Entry) -> list[str]:
    """The templates of an entry: itself, or each of its plural forms."""
    return [entry] if isinstance(entry, str) else list(entry.values())


def plural_form(language: str, entry: Entry, n: object) -> str:
    if isinstance(entry, str):
        return entry
    try:
        category = PLURAL_RULES[language](int(str(n)))
    except ValueError:
        category = "other"  # not a whole number (a placeholder, say): the general form
    return entry.get(category) or entry.get("other") or next(iter(entry.values()), "")


class _Values(dict[str, object]):
    """Fields for ``format_map``; one the caller did not give shows as ``{name}``."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: Mapping[str, object]) -> str:
    """``template`` with ``values`` filled in; a template broken beyond that shows as is."""
    try:
        return template.format_map(_Values(values))
    except (ValueError, IndexError):
        return template


def translate(language: str, key: str, **values: object) -> str:
    """The string for ``key``; a missing key shows itself, so it is seen and fixed.

    A plural key takes the form for ``values["n"]`` (the general one without ``n``)."""
    entry = CATALOGUES[language].get(key, key)
    template = plural_form(language, entry, values.get("n", ""))
    return fill(template, values) if values else template
