"""What a reconcile found: where the records and the boards disagree, or that they agree."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from kiosk.maintenance_view import ActionResult
from tui.kiosk_node import InKiosk
from tui.screens.maintenance.common import back_bar
from tui.screens.runbooks import mismatch_text


class ReconcilePane(InKiosk, Vertical):
    def __init__(self) -> None:
        super().__init__(id="reconcile-pane", classes="maint-pane")

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static(t("reconcile.title"), classes="prompt")
        with VerticalScroll(classes="reading"):
            yield Static("", id="reconcile-text")
        yield back_bar(t, "reconcile-back")

    def show(self, result: ActionResult) -> None:
        t = self.app.t
        if result.mismatches:
            lines = [t("reconcile.found", n=len(result.mismatches))]
            lines += [mismatch_text(t, m) for m in result.mismatches]
        else:
            lines = [t("reconcile.agree")]
        self.query_one("#reconcile-text", Static).update("\n".join(lines))
