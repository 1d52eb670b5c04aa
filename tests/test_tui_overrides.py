"""No kiosk screen or widget shadows a Textual method by accident.

``MaintenanceScreen.run_action`` once replaced ``DOMNode.run_action`` (which runs a
binding's action): any ``action_…`` binding on that screen would have started a
maintenance action instead. A name a class under ``tui/`` defines that Textual's ``App``,
``Screen`` or ``Widget`` already has must be one of the hooks Textual documents for
overriding.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.app import App
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget

import tui

TEXTUAL_BASES = (App, Screen, Widget)
# Hooks Textual calls by name and documents for overriding.
HOOK_PREFIXES = ("on_", "_on_", "watch_", "action_", "key_", "compute_", "validate_",
                 "render", "__")
KNOWN_OVERRIDES = {"compose", "get_default_screen", "check_action", "notify_style_update"}


def tui_classes() -> list[type]:
    for info in pkgutil.walk_packages(tui.__path__, "tui."):
        importlib.import_module(info.name)
    seen: list[type] = []
    todo: list[type] = [DOMNode]
    while todo:
        subclasses: list[type] = todo.pop().__subclasses__()
        for sub in subclasses:
            todo.append(sub)
            if sub.__module__.startswith("tui.") and sub not in seen:
                seen.append(sub)
    return seen


def shadowing(cls: type) -> list[str]:
    """Methods and properties ``cls`` itself defines over a Textual base's."""
    found = []
    for name, value in vars(cls).items():
        if name.startswith(HOOK_PREFIXES) or name in KNOWN_OVERRIDES or name.isupper():
            continue
        if not (inspect.isfunction(value) or isinstance(value, property | staticmethod
                                                        | classmethod)):
            continue
        if any(hasattr(base, name) for base in TEXTUAL_BASES):
            found.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    return found


def test_the_walk_finds_the_kiosk_screens_and_widgets():
    names = {cls.__qualname__ for cls in tui_classes()}
    assert {"KioskApp", "KioskScreen", "HomeScreen", "EntryPane", "Keypad"} <= names


def test_no_screen_or_widget_shadows_a_textual_method():
    assert [name for cls in tui_classes() for name in shadowing(cls)] == []


def test_a_screen_defining_run_action_is_caught():
    class Shadowing(Screen[None]):
        # The old mistake (the type checker sees it too).
        def run_action(self, *args: object) -> None:  # type: ignore[override]
            pass

        def on_mount(self) -> None:  # a hook: allowed
            pass

        def compose_body(self) -> None:  # a name of its own: allowed
            pass

    assert shadowing(Shadowing) == [f"{__name__}.{Shadowing.__qualname__}.run_action"]
