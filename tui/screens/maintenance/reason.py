"""The reason every maintainer action passes through: common reasons to tap, or typed on
the on-screen keyboard (tui/widgets/keyboard.py) or a physical one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Static

from kiosk.maintenance_view import Action
from tui.kiosk_node import InKiosk
from tui.screens.maintenance.common import replace_children
from tui.screens.runbooks import action_text, common_reasons
from tui.widgets.keyboard import KeyboardScreen
from tui.widgets.keypad import KeyButton

# As long as the audit log takes a reason.
REASON_MAX = 200


class ReasonPane(InKiosk, Vertical):
    def __init__(self) -> None:
        super().__init__(id="reason-pane", classes="maint-pane")
        self._reason = ""
        self.action_words = ""

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static("", id="reason-action", classes="prompt")
        yield Static(t("reason.prompt"), classes="hint")
        yield Grid(id="reason-choices")
        yield Static(t("reason.placeholder"), id="reason-value", classes="entry")
        yield Static("", id="reason-message", classes="message")
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(t("key.ok"), id="reason-ok", classes="nav", variant="primary")
            yield KeyButton(t("reason.type"), id="reason-type", classes="nav")
            yield KeyButton(t("reason.cancel"), id="reason-cancel", classes="nav")

    @property
    def reason(self) -> str:
        return self._reason.strip()

    def pick(self, reason: str) -> None:
        self._reason = reason[:REASON_MAX]
        self.query_one("#reason-value", Static).update(
            self._reason or self.app.t("reason.placeholder"))
        self.say("")

    def keyboard(self, first: str = "") -> KeyboardScreen:
        """The on-screen keyboard for typing the reason, from what is chosen so far (or
        from the first key typed on a physical keyboard)."""
        t = self.app.t
        return KeyboardScreen(f"{self.action_words}\n{t('reason.prompt')}",
                              value=first or self._reason, upper=False, max_len=REASON_MAX)

    def say(self, text: str) -> None:
        self.query_one("#reason-message", Static).update(text)

    async def ask(self, action: Action) -> None:
        t = self.app.t
        self.action_words = action_text(t, action)
        self.query_one("#reason-action", Static).update(self.action_words)
        self.say("")
        await replace_children(self.query_one("#reason-choices", Grid), [
            KeyButton(reason, name=reason, id=f"reason-{i}", classes="reason")
            for i, reason in enumerate(common_reasons(t, action.kind))])
        self.pick("")
