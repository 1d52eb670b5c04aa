"""The warning before the idle reset: "going back to the start in 7 s, tap to stay"."""

from __future__ import annotations

from textual.widgets import Static

from tui.kiosk_node import InKiosk


class IdleWarning(InKiosk, Static):
    """Hidden until the app (tui/app.py, ``_check_idle``) counts the last seconds down."""

    def __init__(self) -> None:
        super().__init__("", classes="idle-warning")
        self.display = False
        self.seconds: int | None = None

    def show(self, seconds: int | None) -> None:
        """The seconds left before the reset, or None to hide the warning."""
        self.seconds = seconds
        self.display = seconds is not None
        if seconds is not None:
            self.update(self.app.t("idle.warning", s=seconds))
