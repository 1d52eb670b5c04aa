"""A fault's runbook: what to check, then how to fix it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from kiosk.maintenance_view import FaultView
from tui.kiosk_node import InKiosk
from tui.screens.maintenance.common import back_bar
from tui.screens.runbooks import runbook


class RunbookPane(InKiosk, Vertical):
    def __init__(self) -> None:
        super().__init__(id="runbook-pane", classes="maint-pane")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="reading"):
            yield Static("", id="runbook-text")
        yield back_bar(self.app.t, "runbook-back")

    def show(self, fault: FaultView) -> None:
        t = self.app.t
        book = runbook(t, fault)
        text = Text()
        text.append(book.title + "\n\n", style="bold")
        text.append(t("runbook.check") + "\n", style="bold")
        text.append(book.check + "\n\n")
        text.append(t("runbook.fix") + "\n", style="bold")
        text.append(book.fix)
        self.query_one("#runbook-text", Static).update(text)
