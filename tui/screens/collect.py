"""A courier's collection: the parcels sent and those the community's rule hands back →
doors open → parcels out → doors shut on empty compartments → the senders are told."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from kiosk.hardware import BoardError
from kiosk.lockers.model import Compartment, Courier, OpenResult
from tui.screens.base import DoorsChanged, DoorsUnreadable, KioskScreen, door_place
from tui.widgets.keypad import KeyButton


@dataclass
class CollectableLoaded(Message):
    parcels: list[dict]


@dataclass
class CollectOpened(Message):
    result: OpenResult | None
    error: str | None = None


@dataclass
class CollectSettled(Message):
    left: list[Compartment] = field(default_factory=list)
    error: str | None = None


class CollectScreen(KioskScreen):
    TITLE_KEY = "collect.title"

    def __init__(self, courier: Courier) -> None:
        super().__init__()
        self.courier = courier
        self.parcels: list[dict] = []
        self.result: OpenResult | None = None
        self.left: list[Compartment] = []
        self.taken = 0

    def compose_body(self) -> ComposeResult:
        t = self.t
        with Vertical(id="collect-pane"):
            yield Static(t("collect.loading"), id="collect-heading", classes="prompt")
            yield Static("", id="collect-list", classes="doors")
            yield Static("", id="collect-message", classes="message")
            with Horizontal(classes="pane-buttons"):
                yield KeyButton(t("collect.open_all"), id="collect-open", classes="nav",
                                variant="primary")
                yield KeyButton(t("pickup.open_again"), id="collect-again", classes="nav",
                                variant="warning")
                yield KeyButton(t("nav.done"), id="collect-done", classes="nav",
                                variant="success")

    def on_mount(self) -> None:
        self.query_one("#collect-open").display = False
        self.query_one("#collect-again").display = False
        self.load()

    @work(thread=True, exclusive=True, group="collect", exit_on_error=False)
    def load(self) -> None:
        self.post_message(CollectableLoaded(self.app.lockers.collectable()))

    def on_collectable_loaded(self, message: CollectableLoaded) -> None:
        self.parcels = message.parcels
        t = self.t
        heading = self.query_one("#collect-heading", Static)
        if not self.parcels:
            heading.update(t("collect.none"))
            self.app.speak(self, "none")
            return
        self.app.speak(self, "listed")
        heading.update(t("collect.waiting", n=len(self.parcels)))
        why = {"sent": t("collect.why.sent"), "return": t("collect.why.return"),
               "desk": t("collect.why.desk")}
        lines = []
        for p in self.parcels:
            what = p["destination"] or (t("pickup.waybill", waybill=p["waybill"])
                                        if p["waybill"] else "")
            lines.append(f"{p['compartment']}  {p['size']}  {why[p['why']]}"
                         f"  {what}".rstrip())
        self.query_one("#collect-list", Static).update("\n".join(lines))
        self.query_one("#collect-open").display = True

    def open_all(self) -> None:
        if self._busy or not self.parcels:
            return
        self._busy = True
        self.query_one("#collect-open").display = False
        self.query_one("#collect-message", Static).update(self.t("slot.opening"))
        self.collect([p["id"] for p in self.parcels])

    @work(thread=True, exclusive=True, group="collect", exit_on_error=False)
    def collect(self, ids: list[int]) -> None:
        try:
            answer = CollectOpened(self.app.lockers.collect(self.courier, ids))
        except BoardError as exc:
            answer = CollectOpened(None, str(exc))
        self.post_message(answer)

    @work(thread=True, exclusive=True, group="collect", exit_on_error=False)
    def reopen(self, compartment: str) -> None:
        try:
            answer = CollectOpened(self.app.lockers.open_again(compartment,
                                                               courier=self.courier))
        except BoardError as exc:
            answer = CollectOpened(None, str(exc))
        self.post_message(answer)

    def on_collect_opened(self, message: CollectOpened) -> None:
        self._busy = False
        say = self.query_one("#collect-message", Static).update
        if message.result is None:
            say(self.t("slot.board_error"))
            return
        self.result = message.result
        self.left = []
        self._show_doors(message.result.opened)
        notes = []
        if message.result.failed:
            notes.append(self.t("collect.failed",
                                doors=" ".join(c.id for c in message.result.failed)))
        if message.result.opened:
            self.holds_door = True
            notes.append(self.t("collect.take_and_shut"))
            self.follow_doors(message.result.opened)
        say("\n".join(notes))

    def _show_doors(self, still_open: list[Compartment]) -> None:
        assert self.result is not None
        ids = {c.id for c in still_open}
        lines = [f"{door_place(self.t, c)}   "
                 + (self.t("door.open") if c.id in ids else self.t("door.shut"))
                 for c in self.result.opened]
        self.query_one("#collect-list", Static).update("\n".join(lines))

    def on_doors_changed(self, message: DoorsChanged) -> None:
        if self.result is None:
            return
        self._show_doors(message.still_open)
        if not message.still_open:
            self.query_one("#collect-message", Static).update(self.t("slot.checking"))
            self.settle(self.result)

    def on_doors_unreadable(self, message: DoorsUnreadable) -> None:
        self.query_one("#collect-message", Static).update(self.t("slot.board_error"))

    @work(thread=True, exclusive=True, group="collect", exit_on_error=False)
    def settle(self, result: OpenResult) -> None:
        try:
            answer = CollectSettled(self.app.lockers.settle_shut(result))
        except BoardError as exc:
            answer = CollectSettled(error=str(exc))
        self.post_message(answer)

    def on_collect_settled(self, message: CollectSettled) -> None:
        self.holds_door = False
        assert self.result is not None
        if message.error is not None:
            self.query_one("#collect-message", Static).update(self.t("slot.board_error"))
            return
        self.left = message.left
        self.taken += len(self.result.opened) - len(self.left)
        if self.left:
            self.query_one("#collect-message", Static).update(
                self.t("collect.left_inside", doors=" ".join(c.id for c in self.left)))
            self.query_one("#collect-again").display = True
            self.app.speak(self, "left_inside")
            return
        self.query_one("#collect-message", Static).update(
            self.t("collect.done", n=self.taken))
        self.app.speak(self, "done")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "collect-open":
            self.open_all()
        elif event.button.id == "collect-again" and self.left and not self._busy:
            self._busy = True
            self.query_one("#collect-again").display = False
            self.reopen(self.left[0].id)
        elif event.button.id == "collect-done":
            self.go_home()
