"""The overview: every compartment in a grid, the boards, GPIO and uplink, and the faults
(each opens its runbook); the bar leads to spots, review, reconcile, the roster."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from kiosk.maintenance_view import ERROR_COUNTERS, Overview
from tui.kiosk_node import InKiosk
from tui.screens.maintenance.common import replace_children
from tui.screens.runbooks import gpio_text, runbook
from tui.widgets.compartment_grid import CompartmentGrid, GridLegend, PickLine
from tui.widgets.keypad import KeyButton
from tui.widgets.size_chooser import size_name


class OverviewPane(InKiosk, Vertical):
    def __init__(self) -> None:
        super().__init__(id="overview-pane", classes="maint-pane")
        # The faults listed now: the list is rebuilt only when they change.
        self._faults_shown: list[tuple[str, str]] | None = None

    def compose(self) -> ComposeResult:
        t = self.app.t
        with VerticalScroll(id="overview-body"):
            yield Static(t("maintenance.loading"), id="overview-loading")
            yield CompartmentGrid(id="grid")
            yield GridLegend(t, id="legend")
            yield Static("", id="free-line")
            yield Static("", id="devices")
            yield Static("", id="faults-heading", classes="prompt")
            yield Vertical(id="fault-list")
            yield Static(t("maintenance.hint"), id="overview-hint", classes="hint")
            yield Static("", id="overview-message", classes="message")
        with Horizontal(classes="bottom-bar"):
            yield KeyButton(t("maintenance.spots"), id="to-spots", classes="bar")
            yield KeyButton(t("maintenance.review", n=0), id="to-review", classes="bar")
            yield KeyButton(t("maintenance.reconcile"), id="to-reconcile", classes="bar")
            yield KeyButton(t("maintenance.duty"), id="to-roster", classes="bar")
            yield KeyButton(t("maintenance.logout"), id="logout", classes="bar",
                            variant="warning")

    async def show(self, o: Overview, selected: str | None) -> None:
        t = self.app.t
        self.query_one("#overview-loading").display = False
        self.query_one("#grid", CompartmentGrid).show(t, o.compartments, selected)
        self.query_one("#free-line", Static).update(t("maintenance.free", counts=" · ".join(
            f"{size_name(t, s)} {n}" for s, n in o.free.items())))
        self.query_one("#devices", Static).update(self._devices_text(o))
        self.query_one("#faults-heading", Static).update(
            t("maintenance.faults", n=len(o.faults)) if o.faults else t("maintenance.no_faults"))
        faults = [(f.kind, f.subject) for f in o.faults]
        if faults != self._faults_shown:
            self._faults_shown = faults
            await replace_children(self.query_one("#fault-list", Vertical), [
                PickLine(runbook(t, f).title, name=str(i), id=f"fault-{i}",
                         classes="fault-line") for i, f in enumerate(o.faults)])
        self.query_one("#to-review", Button).label = t("maintenance.review",
                                                       n=len(o.in_review))

    def _devices_text(self, o: Overview) -> Text:
        t = self.app.t
        text = Text()
        for b in o.boards:
            line = t("maintenance.board", label=b.label, board=b.board, errors=b.errors,
                     state=t("maintenance.board_online") if b.online
                     else t("maintenance.board_offline"))
            text.append(line + "\n", style="" if b.online else "bold")
        if o.bus_counters is not None:
            text.append(t("maintenance.bus", **{k: o.bus_counters.get(k, 0)
                                                 for k in ERROR_COUNTERS}) + "\n")
        if o.peripherals:
            text.append(t("maintenance.gpio", readings=" · ".join(
                gpio_text(t, name, state) for name, state in o.peripherals.items())) + "\n")
        else:
            text.append(t("maintenance.no_gpio") + "\n")
        if o.uplink is None:
            text.append(t("maintenance.uplink_none", n=o.backlog))
        elif o.uplink:
            text.append(t("maintenance.uplink_up", n=o.backlog))
        else:
            text.append(t("maintenance.uplink_down", n=o.backlog), style="bold")
        return text
