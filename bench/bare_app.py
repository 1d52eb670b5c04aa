"""A bare Textual app with a given number of widgets: the yardstick for ``kiosk demo``.

    python bench/bare_app.py WIDGETS [--libraries]

A grid holding WIDGETS - 1 buttons (the grid is the first widget), labelled like the
kiosk's home so the first frame draws comparable text. Ctrl+Q quits. ``--libraries``:
first import the libraries every kiosk runs on (sqlite-utils, gpiozero with its mock pins,
paho-mqtt, pyserial, OpenSSL's hashes) and use none of them: the floor under the kiosk's
footprint that no code of its own can go below.
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


def import_the_kiosks_libraries() -> None:
    import hashlib
    import hmac
    import sqlite3

    import gpiozero
    import paho.mqtt.client
    import serial
    import sqlite_utils
    from gpiozero.pins.mock import MockFactory

    del hashlib, hmac, sqlite3, gpiozero, paho, serial, sqlite_utils, MockFactory


if __name__ == "__main__":
    if "--libraries" in sys.argv[2:]:
        import_the_kiosks_libraries()
    BareApp(int(sys.argv[1])).run()
