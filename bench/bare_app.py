"""A bare Textual app with a given number of widgets: the yardstick for ``kiosk demo``.

    python bench/bare_app.py WIDGETS

A grid holding WIDGETS - 1 buttons (the grid is the first widget), labelled like the
kiosk's home so the first frame draws comparable text. Ctrl+Q quits.
"""

from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.widgets import Button


class BareApp(App[None]):
    CSS = "Grid { grid-size: 3; } Button { width: 1fr; height: 1fr; }"

    def __init__(self, widgets: int):
        super().__init__()
        self.widgets = widgets

    def compose(self) -> ComposeResult:
        with Grid():
            for i in range(self.widgets - 1):
                yield Button(f"取件 {i}")


if __name__ == "__main__":
    BareApp(int(sys.argv[1])).run()
