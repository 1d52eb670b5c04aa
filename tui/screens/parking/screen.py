"""The parking screen: the member's session, the desk's calls in workers, and the way
between the panes (menu → unit → PIN → member page → request / reserve; or the board).

Everything the register does runs in thread workers through ``ParkingDesk``; the panes
only show what comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual import events, work
from textual.app import ComposeResult
from textual.widgets import Button, ContentSwitcher

from kiosk.parking.desk import MemberView, PublicBoard, Refused
from kiosk.parking.register import Member
from tui.messages import LanguageChanged, ParkingChanged
from tui.screens.base import KioskScreen
from tui.screens.parking.board import BoardPane
from tui.screens.parking.login import ask_pin, pin_entry, unit_entry
from tui.screens.parking.member import MemberPage, confirm_text, done_text, leavable
from tui.screens.parking.menu import ParkingMenu
from tui.screens.parking.messages import (
    ActionDone,
    BoardLoaded,
    GateMoved,
    LoginAnswered,
    MemberLoaded,
)
from tui.screens.parking.request import RequestPane
from tui.screens.parking.reserve import Choice, ReservePane
from tui.screens.parking.words import why
from tui.widgets.entry import Countdown, EntryPane

# Actions that lose something on a slip of the finger: a second press confirms.
CONFIRMED = ("release", "withdraw", "cancel", "decline", "leave")


def returning(value: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, then ``value``: for a desk call that answers nothing, so the screen
    can say what it acted on."""
    fn(*args)
    return value


class ParkingScreen(KioskScreen):
    TITLE_KEY = "parking.title"
    # How long the barrier stays up after "open the gate".
    gate_open_s = 5.0
    refresh_s = 30.0

    def __init__(self) -> None:
        super().__init__()
        self.member: Member | None = None
        self.view: MemberView | None = None
        self.board: PublicBoard | None = None
        self.unit = ""
        # Whose back-off wait the countdown shows: the unit (or worker's name) refused.
        self.waiting_for = ""
        self.pane_name = "park-menu"
        self.gate_raised = False
        self._busy = False
        self._confirm: str | None = None
        self._message = ""
        self.choice = Choice()
        self.countdown = Countdown(self, self.t,
                              lambda text: self.query_one("#park-unit", EntryPane).say(text),
                              showing=lambda: self.member is None)

    # --- layout ---------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial=self.pane_name, id="park-switcher"):
            yield ParkingMenu(id="park-menu")
            yield unit_entry(t)
            yield pin_entry(t)
            yield MemberPage(id="park-member")
            yield RequestPane(id="park-request")
            yield ReservePane(id="park-reserve")
            yield BoardPane(id="park-board")

    def on_mount(self) -> None:
        self.countdown.run()
        # Time changes what a member may do (check-in opens, an offer lapses).
        self.set_interval(self.refresh_s, self._refresh_member)
        self._restore()

    def _refresh_member(self) -> None:
        if self.member is not None and self.pane == "park-member" and not self._busy:
            self.load_member()

    async def on_language_changed(self, message: LanguageChanged) -> None:
        await self.recompose()
        self._restore()

    def _restore(self) -> None:
        """Show what is known again (after a recompose the widgets are new)."""
        if self.member is not None:
            self.set_note(self.t("parking.note_member", member=self.member.member))
        if self.view is not None:
            self.show_view(self.view)
        if self.board is not None:
            self.show_board(self.board)
        if self._message:
            self.say(self._message)

    @property
    def pane(self) -> str:
        return self.pane_name

    def show_pane(self, name: str) -> None:
        self.pane_name = name
        self.query_one(ContentSwitcher).current = name

    # --- keys -----------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if self._key(event):
            event.stop()

    def _key(self, event: events.Key) -> bool:
        if event.key == "escape":
            self.step_back()
            return True
        pane = self.pane
        if pane in ("park-unit", "park-pin"):
            return self._busy or self.query_one(f"#{pane}", EntryPane).press_key(event)
        if pane == "park-menu" and event.character in ("1", "2"):
            self.open_login() if event.character == "1" else self.open_board()
            return True
        if pane == "park-reserve" and event.key == "enter":
            self.submit_reservation()
            return True
        return False

    def step_back(self) -> None:
        """Escape / Back: one step back; from the menu, home."""
        pane = self.pane
        if pane in ("park-request", "park-reserve"):
            self.show_pane("park-member")
        elif pane == "park-member":
            self.logout()
        elif pane == "park-pin":
            self.query_one("#park-pin", EntryPane).clear()
            self.show_pane("park-unit")
        elif pane == "park-unit" and self.query_one("#park-unit", EntryPane).buffer.value:
            self.query_one("#park-unit", EntryPane).clear()
        elif pane in ("park-unit", "park-board"):
            self.show_pane("park-menu")
        else:
            self.go_home()

    # --- buttons --------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button
        bid = button.id or ""
        event.stop()
        if button.has_class("step-back"):
            if not self._busy:
                self.step_back()
        elif bid == "park-login":
            self.open_login()
        elif bid == "park-show-board":
            self.open_board()
        elif bid.startswith("act-"):
            self.member_action(bid.removeprefix("act-"))
        elif bid.startswith("req-") and button.name:
            self.do_request(button.name)
        elif bid.startswith("res-type-") and button.name:
            self.choose(type=button.name)
        elif bid.startswith("res-day-") and button.name:
            self.choose(day=int(button.name))
        elif bid.startswith("res-kind-") and button.name:
            self.choose(kind=button.name)
        elif bid.startswith("res-hour-") and button.name:
            self.choose(hour=int(button.name))
        elif bid.startswith("res-dur-") and button.name:
            self.choose(hours=int(button.name))
        elif bid == "res-go":
            self.submit_reservation()

    # --- the public board -----------------------------------------------------------------

    def open_board(self) -> None:
        self.show_pane("park-board")
        self.load_board()

    @work(thread=True, exclusive=True, group="parking-board", exit_on_error=False)
    def load_board(self) -> None:
        self.post_message(BoardLoaded(self.app.parking.public_board()))

    def on_board_loaded(self, message: BoardLoaded) -> None:
        self.show_board(message.board)

    def show_board(self, board: PublicBoard) -> None:
        self.board = board
        self.query_one(BoardPane).show(board)

    # --- login ----------------------------------------------------------------------------

    def open_login(self) -> None:
        pane = self.query_one("#park-unit", EntryPane)
        pane.clear()
        self.show_pane("park-unit")
        self.app.speak(self, "unit")

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        message.stop()
        if self._busy or not message.value:
            return
        if message.pane.id == "park-unit":
            if message.value != self.waiting_for:
                # A wait is the refused member's own: another member's PIN is the
                # register's to refuse (at most the kiosk-wide cap), not the screen's.
                self.countdown.cancel()
            self.unit = message.value
            ask_pin(self.query_one("#park-pin", EntryPane), self.t, self.unit)
            self.show_pane("park-pin")
            self.app.speak(self, "household_pin")
        elif message.pane.id == "park-pin":
            if self.countdown.waiting:
                message.pane.say(self.t("pickup.wait", s=self.countdown.seconds_left))
                self.app.speak(self, "wait", s=self.countdown.seconds_left)
                return
            self._busy = True
            message.pane.say(self.t("deposit.pin_checking"))
            self.login(self.unit, message.value)

    @work(thread=True, exclusive=True, group="parking-login", exit_on_error=False)
    def login(self, unit: str, pin: str) -> None:
        try:
            self.post_message(LoginAnswered(member=self.app.parking.login(unit, pin)))
        except Refused as refusal:
            self.post_message(LoginAnswered(refusal=refusal))

    def on_login_answered(self, message: LoginAnswered) -> None:
        self._busy = False
        self.query_one("#park-pin", EntryPane).clear()
        if message.member is None:
            refusal = message.refusal
            assert refusal is not None
            unit_pane = self.query_one("#park-unit", EntryPane)
            unit_pane.clear()
            self.show_pane("park-unit")
            text = why(self.t, refusal, datetime.now().astimezone())
            if refusal.wait_s:
                self.waiting_for = self.unit
                self.countdown.start(text, refusal.wait_s)
            else:
                unit_pane.say(text + "\n" + self.t("parking.login_hint"))
                self.app.speak_refusal(self, refusal)
            return
        self.member = message.member
        self.set_note(self.t("parking.note_member",
                             member=message.member.member))
        self.say("")
        self.show_pane("park-member")
        self.app.speak(self, "member")
        self.load_member()

    def logout(self) -> None:
        self.member = None
        self.view = None
        self._message = ""
        self._confirm = None
        self.set_note("")
        self.query_one(MemberPage).clear()
        self.show_pane("park-menu")

    # --- the member's page ----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="parking-member", exit_on_error=False)
    def load_member(self) -> None:
        member = self.member
        if member is not None:
            self.post_message(MemberLoaded(self.app.parking.member_view(member.member)))

    def on_member_loaded(self, message: MemberLoaded) -> None:
        if self.member is None or message.view.member.member != self.member.member:
            return
        self.show_view(message.view)

    def on_parking_changed(self, message: ParkingChanged) -> None:
        if self.member is not None:
            self.load_member()
        if self.pane == "park-board":
            self.load_board()

    def say(self, text: str) -> None:
        self._message = text
        self.query_one(MemberPage).say(text)

    def show_view(self, view: MemberView) -> None:
        self.view = view
        self.query_one(MemberPage).show(view, gate_raised=self.gate_raised,
                                        confirm=self._confirm)

    def _show_actions(self, view: MemberView) -> None:
        self.query_one(MemberPage).show_actions(view, gate_raised=self.gate_raised,
                                                confirm=self._confirm)

    # --- the member's actions -------------------------------------------------------------

    def member_action(self, action: str) -> None:
        view = self.view
        if view is None or self.member is None or self._busy:
            return
        if action == "logout":
            self.logout()
            return
        if action in CONFIRMED and self._confirm != action:
            self._confirm = action
            self.say(confirm_text(self.t, action, view))
            self._show_actions(view)
            return
        self._confirm = None
        member = self.member.member
        desk = self.app.parking
        if action == "request":
            self.open_request(view)
        elif action == "reserve":
            self.open_reserve(view)
        elif action == "withdraw":
            self.start_action("withdraw", desk.withdraw, member)
        elif action == "release":
            self.start_action("release", desk.release, member)
        elif action == "checkin" and view.checkable is not None:
            self.start_action("checkin", desk.check_in, member, view.checkable.id)
        elif action == "cancel" and view.cancellable is not None:
            # The answer names the booking cancelled, as the question did.
            booking = view.cancellable
            self.start_action("cancel", returning, booking, desk.cancel, member, booking.id)
        elif action == "leave" and (place := leavable(view)) is not None:
            self.start_action("leave", returning, place, desk.leave_waitlist, member,
                              place.id)
        elif action == "accept" and view.offer is not None:
            self.start_action("accept", desk.accept, member, view.offer.id)
        elif action == "decline" and view.offer is not None:
            self.start_action("decline", desk.decline, member, view.offer.id)
        elif action == "gate":
            self.open_gate(member)

    def start_action(self, action: str, fn: Callable[..., Any], *args: Any) -> None:
        self._busy = True
        self.say(self.t("deposit.pin_checking"))
        self._act(action, fn, *args)

    @work(thread=True, exclusive=True, group="parking-act", exit_on_error=False)
    def _act(self, action: str, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self.post_message(ActionDone(action, result=fn(*args)))
        except Refused as refusal:
            self.post_message(ActionDone(action, refusal=refusal))

    def on_action_done(self, message: ActionDone) -> None:
        self._busy = False
        t = self.t
        now = self.view.now if self.view is not None else datetime.now().astimezone()
        if message.refusal is not None:
            text = why(t, message.refusal, now)
            if self.pane == "park-request":
                self.query_one(RequestPane).say(text)
            elif self.pane == "park-reserve":
                self.query_one(ReservePane).say(text)
            else:
                self.say(text)
            self.load_member()
            return
        self.say(done_text(t, message.action, message.result, now, self.choice.type))
        self.show_pane("park-member")
        self.load_member()

    # --- requesting a spot in the round ---------------------------------------------------

    def open_request(self, view: MemberView) -> None:
        self.query_one(RequestPane).show(view)
        self.show_pane("park-request")

    def do_request(self, spot_type: str) -> None:
        if self.member is None or self._busy:
            return
        desk = self.app.parking
        member = self.member.member

        def request() -> tuple[str, str]:
            return desk.request(member, spot_type), spot_type

        self._busy = True
        self.query_one(RequestPane).say(self.t("deposit.pin_checking"))
        self._act("request", request)

    # --- reserving a slot -----------------------------------------------------------------

    def open_reserve(self, view: MemberView) -> None:
        self.choice.fit(view)
        self._show_choice()
        self.show_pane("park-reserve")

    def choose(self, **picked: Any) -> None:
        for name, value in picked.items():
            setattr(self.choice, name, value)
        self._show_choice()

    def _show_choice(self) -> None:
        if self.view is not None:
            self.query_one(ReservePane).show(self.view, self.choice)

    def submit_reservation(self) -> None:
        start = self.choice.start(self.view)
        if self.member is None or self._busy or start is None:
            return
        choice = self.choice
        self._busy = True
        self.query_one(ReservePane).say(self.t("deposit.pin_checking"))
        self._act("reserve", self.app.parking.reserve, self.member.member, choice.type,
                  choice.kind, start, choice.hours)

    # --- the gate -------------------------------------------------------------------------

    def open_gate(self, member: str) -> None:
        """Raise the barrier for a few seconds. Only ever from this button, at the kiosk:
        nothing from the network reaches it."""
        app = self.app
        desk = app.parking
        peripherals = app.peripherals
        if peripherals is None:
            return
        hold_s = self.gate_open_s
        screen = self

        def gate() -> None:
            if not desk.may_open_gate(member):
                screen.post_message(ActionDone("gate", refusal=Refused("gate")))
                return
            try:
                peripherals.set_barrier(True)
                screen.post_message(GateMoved(True))
                time.sleep(hold_s)
            finally:
                peripherals.set_barrier(False)
                screen.post_message(GateMoved(False))

        # An app worker: the barrier comes down even if this screen is gone by then.
        app.run_worker(gate, thread=True, group="parking-gate", exclusive=True,
                       exit_on_error=False)

    def on_gate_moved(self, message: GateMoved) -> None:
        self.gate_raised = message.raised
        self.say(self.t("parking.gate_open", s=int(self.gate_open_s)) if message.raised
                 else self.t("parking.gate_down"))
        if self.view is not None:
            self._show_actions(self.view)
