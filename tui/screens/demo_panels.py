"""The demo's two panels: the residents' inbox and PINs (F1), the simulated hardware (F2).

Only ``kiosk demo`` opens them; a real kiosk has no such keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.demo import DemoHelp, DoorView, SpotView
from tui.kiosk_node import InKiosk
from tui.widgets.keypad import KeyButton


@dataclass
class HelpLoaded(Message):
    help: DemoHelp


class DemoHelpScreen(InKiosk, ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1", "dismiss", show=False)]

    def compose(self) -> ComposeResult:
        t = self.app.t
        with Vertical(id="demo-help", classes="demo-panel"):
            yield Static(t("demo.help_title"), classes="panel-title")
            yield Static(t("demo.loading"), id="demo-help-body")
            with Horizontal(classes="pane-buttons"):
                yield KeyButton(t("demo.close"), classes="nav")
            yield Static(t("demo.help_keys"), classes="panel-hint")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        assert self.app.demo is not None
        self.post_message(HelpLoaded(self.app.demo.help()))

    def on_help_loaded(self, message: HelpLoaded) -> None:
        t = self.app.t
        info = message.help
        phone = Table(title=t("demo.inbox") if info.live else t("demo.phone"), box=None,
                      padding=(0, 1), title_justify="left")
        phone.add_column(t("demo.unit"))
        phone.add_column(t("demo.code"))
        phone.add_column(t("demo.parcels"), justify="right")
        for unit, code, parcels in info.codes:
            phone.add_row(unit, code, str(parcels))
        if not info.codes:
            phone.add_row("—", t("demo.no_codes"), "")
        people = Table(title=t("demo.pins"), box=None, padding=(0, 1), title_justify="left")
        people.add_column(t("demo.who"))
        people.add_column(t("demo.pin"))
        for name, pin in info.duty:
            people.add_row(t("demo.on_duty", name=name), pin)
        for name, pin in info.couriers:
            people.add_row(t("demo.courier", name=name), pin)
        for unit, pin in info.households[:4]:
            people.add_row(t("demo.household", unit=unit), pin)
        if len(info.households) > 4:
            people.add_row(t("demo.more_households"), "")
        grid = Table.grid(padding=(0, 4))
        grid.add_row(phone, people)
        body = Table.grid()
        body.add_row(grid)
        if info.live:
            # The inbox the real notifier delivered to (through the demo's own broker or
            # --broker): the path a code took is outbox, broker, notifier, Apprise, receipt.
            body.add_row(Text(t("demo.inbox_title"), style="bold"))
            for unit, title in info.inbox[:4]:
                body.add_row(Text(f"{t('demo.household', unit=unit)}  {title}"))
            if not info.inbox:
                body.add_row(Text(t("demo.inbox_empty")))
            if info.slips:
                body.add_row(Text(t("demo.slips", units=", ".join(info.slips))))
        else:
            # Say plainly that these codes skipped the notifier (no mosquitto here).
            body.add_row(Text(t("demo.no_broker")))
        if info.parking:
            body.add_row(Text(t("demo.parking_title"), style="bold"))
            body.add_row(Text(" · ".join(self._parking_entries(info))))
        self.query_one("#demo-help-body", Static).update(body)

    def _parking_entries(self, info: DemoHelp) -> list[str]:
        """The units worth trying first: a few households, a need, the worker."""
        t = self.app.t
        entries = []
        for i, (unit, pin, spot, need, worker) in enumerate(info.parking):
            if i >= 4 and not (need or worker):
                continue
            notes = [t("demo.parking_spot", spot=spot)] if spot else []
            if need:
                notes.append(t("demo.parking_need"))
            if worker:
                notes.append(t("demo.parking_worker"))
            login = (t("demo.parking_login_worker", name=unit, pin=pin) if worker
                     else t("demo.parking_login", unit=unit, pin=pin))
            entries.append(" ".join([login, *notes]))
        entries.append(t("demo.parking_more"))
        return entries

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss()


class DoorCell(KeyButton):
    def __init__(self, door: DoorView):
        super().__init__("", name=f"{door.board}:{door.lock}",
                         id=f"door-{door.board}-{door.lock}", classes="door-cell")
        self.door = door


def action_labels(t) -> dict[str, str]:
    return {"put_shut": t("demo.put_shut"), "shut": t("demo.shut_door"),
            "put": t("demo.put"), "take": t("demo.take"), "jam": t("demo.jam"),
            "force": t("demo.force"), "tamper": t("demo.tamper"), "close": t("demo.close")}


class SpotCell(KeyButton):
    def __init__(self, index: int, spot: SpotView):
        super().__init__("", name=spot.spot, id=f"spot-{spot.spot}", classes="spot-cell")
        self.index = index


class HardwareScreen(InKiosk, ModalScreen[None]):
    """Hands on the simulated cabinet: pick a door, then act on it. Below, a car on or off
    each parking spot (its sensor), and the barrier."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f2", "dismiss", show=False),
        Binding("enter", "act('put_shut')", show=False),
        Binding("s", "act('shut')", show=False),
        Binding("p", "act('put')", show=False),
        Binding("t", "act('take')", show=False),
        Binding("j", "act('jam')", show=False),
        Binding("f", "act('force')", show=False),
        Binding("x", "act('tamper')", show=False),
        Binding("left", "move(-1)", show=False),
        Binding("right", "move(1)", show=False),
        Binding("up", "move(-8)", show=False),
        Binding("down", "move(8)", show=False),
        *(Binding(str((i + 1) % 10), f"spot({i})", show=False) for i in range(10)),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.selected: tuple[int, int] | None = None
        self._doors: list[DoorView] = []
        self._spots: list[SpotView] = []

    def compose(self) -> ComposeResult:
        t = self.app.t
        assert self.app.demo is not None
        self._doors = self.app.demo.doors()
        with Vertical(id="hardware", classes="demo-panel"):
            yield Static(t("demo.hardware_title"), classes="panel-title")
            with Grid(id="door-grid"):
                for door in self._doors:
                    yield DoorCell(door)
            yield Static("", id="selected-door")
            self._spots = self.app.demo.spots()
            if self._spots:
                with Horizontal(id="spot-row"):
                    yield Static(t("demo.spots_title"), classes="spot-title")
                    for i, spot in enumerate(self._spots):
                        yield SpotCell(i, spot)
            with Grid(id="hardware-actions"):
                for action, label in action_labels(t).items():
                    yield KeyButton(label, name=action, classes="action")
            yield Static(t("demo.hardware_keys"), classes="panel-hint")

    def on_mount(self) -> None:
        opened = [d for d in self._doors if d.open]
        first = opened[0] if opened else self._doors[0]
        self.selected = (first.board, first.lock)
        self.refresh_doors()
        self.set_interval(0.25, self.refresh_doors)

    def refresh_doors(self) -> None:
        assert self.app.demo is not None
        t = self.app.t
        self._doors = self.app.demo.doors()
        for door in self._doors:
            cell = self.query_one(f"#door-{door.board}-{door.lock}", DoorCell)
            marks = [t("demo.open") if door.open else t("demo.shut")]
            if door.occupied:
                marks.append(t("demo.item"))
            if door.jammed:
                marks.append(t("demo.jammed"))
            cell.label = f"{door.label} {door.size}\n{' '.join(marks)}"
            cell.set_class(door.open, "is-open")
            cell.set_class(door.jammed, "is-jammed")
            cell.set_class((door.board, door.lock) == self.selected, "is-selected")
        chosen = self._selected_door()
        tamper = t("demo.tamper_open") if self.app.demo.tamper_open() else t(
            "demo.tamper_closed")
        where = t("demo.selected", door=chosen.label) if chosen else ""
        line = f"{where}    {tamper}"
        self._spots = self.app.demo.spots()
        if self._spots:
            barrier = t("demo.barrier_up") if self.app.demo.barrier_raised() else t(
                "demo.barrier_down")
            line += f"    {barrier}"
        for spot in self._spots:
            spot_cell = self.query_one(f"#spot-{spot.spot}", SpotCell)
            mark = t("demo.spot_car") if spot.occupied else t("demo.spot_free")
            spot_cell.label = f"{spot.spot} {mark}"
            spot_cell.set_class(spot.occupied, "is-occupied")
        self.query_one("#selected-door", Static).update(line)

    def _selected_door(self) -> DoorView | None:
        return next((d for d in self._doors if (d.board, d.lock) == self.selected), None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if isinstance(event.button, SpotCell):
            self.action_spot(event.button.index)
        elif isinstance(event.button, DoorCell):
            self.selected = (event.button.door.board, event.button.door.lock)
            self.refresh_doors()
        elif event.button.name:
            self.action_act(event.button.name)

    def action_move(self, step: int) -> None:
        keys = [(d.board, d.lock) for d in self._doors]
        if self.selected in keys:
            i = (keys.index(self.selected) + step) % len(keys)
            self.selected = keys[i]
            self.refresh_doors()

    def action_spot(self, index: int) -> None:
        if index < len(self._spots):
            spot = self._spots[index]
            self.toggle_spot(spot.spot, not spot.occupied)

    @work(thread=True, group="world", exit_on_error=False)
    def toggle_spot(self, spot: str, occupied: bool) -> None:
        """On a worker: the sensor's callback writes to the parking register."""
        assert self.app.demo is not None
        self.app.demo.set_spot(spot, occupied)
        self.app.call_from_thread(self.refresh_doors)

    def action_act(self, action: str) -> None:
        if action == "close":
            self.dismiss()
            return
        door = self._selected_door()
        self.act(action, None if door is None else (door.board, door.lock, door.jammed))

    @work(thread=True, group="world", exit_on_error=False)
    def act(self, action: str, door: tuple[int, int, bool] | None) -> None:
        """On a worker: the tamper switch's callbacks write alarms to the database."""
        demo = self.app.demo
        assert demo is not None
        if action == "tamper":
            demo.set_tamper(not demo.tamper_open())
        elif door is not None:
            b, n, jammed = door
            if action == "put_shut":
                demo.put_item(b, n)
                demo.shut(b, n)
            elif action == "shut":
                demo.shut(b, n)
            elif action == "put":
                demo.put_item(b, n)
            elif action == "take":
                demo.take_item(b, n)
            elif action == "jam":
                demo.set_jammed(b, n, not jammed)
            elif action == "force":
                demo.force_open(b, n)
        self.app.call_from_thread(self.refresh_doors)
