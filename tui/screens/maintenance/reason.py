"""The reason every maintainer action passes through: common reasons to tap, or typed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Input, Static

from kiosk.maintenance_view import Action
from tui.kiosk_node import InKiosk
from tui.screens.maintenance.common import replace_children
from tui.screens.runbooks import action_text, common_reasons
from tui.widgets.keypad import KeyButton


class ReasonPane(InKiosk, Vertical):
    def __init__(self) -> None:
        super().__init__(id="reason-pane", classes="maint-pane")

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static("", id="reason-action", classes="prompt")
        yield Static(t("reason.prompt"), classes="hint")
        yield Grid(id="reason-choices")
        yield Input(placeholder=t("reason.placeholder"), id="reason-input", max_length=200)
        yield Static("", id="reason-message", classes="message")
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(t("key.ok"), id="reason-ok", classes="nav", variant="primary")
            yield KeyButton(t("reason.cancel"), id="reason-cancel", classes="nav")

    @property
    def reason(self) -> str:
        return self.query_one("#reason-input", Input).value.strip()

    def pick(self, reason: str) -> None:
        self.query_one("#reason-input", Input).value = reason
        self.say("")

    def say(self, text: str) -> None:
        self.query_one("#reason-message", Static).update(text)

    async def ask(self, action: Action) -> None:
        t = self.app.t
        self.query_one("#reason-action", Static).update(action_text(t, action))
        self.say("")
        await replace_children(self.query_one("#reason-choices", Grid), [
            KeyButton(reason, name=reason, id=f"reason-{i}", classes="reason")
            for i, reason in enumerate(common_reasons(t, action.kind))])
        self.query_one("#reason-input", Input).value = ""
