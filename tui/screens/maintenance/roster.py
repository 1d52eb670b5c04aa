"""The public duty roster: the shift before, this one and the coming ones, the counts, and
(for the maintainer on duty) a handover to another active volunteer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from tui.kiosk_node import InKiosk
from tui.screens.maintenance.common import back_bar, local_time, replace_children
from tui.screens.maintenance.messages import RosterLoaded
from tui.widgets.keypad import KeyButton


class RosterPane(InKiosk, Vertical):
    def __init__(self) -> None:
        super().__init__(id="roster-pane", classes="maint-pane")

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static(t("roster.title"), classes="prompt")
        with VerticalScroll(classes="reading"):
            yield Static("", id="roster-text")
            yield Static(t("roster.handover"), id="handover-prompt", classes="hint")
            yield Horizontal(id="handover-choices")
        yield back_bar(t, "roster-back")

    async def show(self, roster: RosterLoaded, maintainer: str | None) -> None:
        t = self.app.t
        current = roster.current.start if roster.current else None
        shifts = roster.shifts
        # The shift before this one, this one, and the coming ones.
        now_index = next((i for i, s in enumerate(shifts) if s.start == current),
                         len(shifts))
        shown = shifts[max(0, now_index - 1):now_index + 6]
        lines = []
        for s in shown:
            row = t("roster.row", start=local_time(s.start), end=local_time(s.end),
                    names=", ".join(s.maintainers))
            lines.append(row + ("  " + t("roster.now") if s.start == current else ""))
        if not lines:
            lines.append(t("roster.none"))
        lines.append("")
        lines.append(t("roster.counts", counts=" · ".join(
            f"{name} {n}" for name, n in sorted(roster.counts.items()))))
        self.query_one("#roster-text", Static).update("\n".join(lines))
        others = [] if maintainer is None or roster.current is None else [
            v for v in roster.volunteers if v not in roster.current.maintainers]
        self.query_one("#handover-prompt").display = bool(others)
        await replace_children(self.query_one("#handover-choices", Horizontal), [
            KeyButton(v, name=v, id=f"handover-{i}", classes="nav handover")
            for i, v in enumerate(others)])
