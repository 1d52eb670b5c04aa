"""Parking: the public board for anyone; for a member (unit + PIN) their spot and history,
requests in the open round, short reservations, the waitlist, and the car-park gate.

Everything the register does runs in thread workers through ``ParkingDesk``; the screen
only shows what comes back. The gate opens only from here, at the kiosk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.cells import cell_len
from rich.table import Table
from textual import events, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Static

from kiosk.parking.desk import (
    DrawInputs,
    MemberView,
    PublicBoard,
    Refused,
    WaitPlace,
)
from kiosk.parking.model import SPOT_TYPES
from kiosk.parking.register import Member, Reservation, Reserved
from tui.messages import LanguageChanged, ParkingChanged
from tui.screens.base import KioskScreen
from tui.screens.deposit import DIGITS, UNIT_CHARACTERS
from tui.widgets.entry import EntryPane, count_down
from tui.widgets.keypad import KeyButton

DURATIONS = (1, 2, 4, 8, 24, 48)
KINDS = ("visitor", "moving")
# Actions that lose something on a slip of the finger: a second press confirms.
CONFIRMED = ("release", "withdraw", "cancel", "decline")
MEMBER_ACTIONS = ("request", "withdraw", "release", "reserve", "checkin", "cancel", "accept",
                  "decline", "gate", "logout")


# --- messages from the workers ------------------------------------------------------------


@dataclass
class LoginAnswered(Message):
    member: Member | None = None
    refusal: Refused | None = None


@dataclass
class MemberLoaded(Message):
    view: MemberView


@dataclass
class BoardLoaded(Message):
    board: PublicBoard


@dataclass
class ActionDone(Message):
    action: str
    result: Any = None
    refusal: Refused | None = None


@dataclass
class GateMoved(Message):
    raised: bool


# --- words ----------------------------------------------------------------------------------


def type_name(t, spot_type: str) -> str:
    return {"standard": t("parking.type_standard"), "accessible": t("parking.type_accessible"),
            "ev": t("parking.type_ev"), "motorcycle": t("parking.type_motorcycle"),
            "loading": t("parking.type_loading")}.get(spot_type, spot_type)


def kind_name(t, kind: str) -> str:
    return {"visitor": t("parking.kind_visitor"),
            "moving": t("parking.kind_moving")}.get(kind, kind)


def status_name(t, status: str) -> str:
    return {"booked": t("parking.status_booked"), "checked_in": t("parking.status_checked_in"),
            "held": t("parking.status_held"), "completed": t("parking.status_completed"),
            "no_show": t("parking.status_no_show"), "cancelled": t("parking.status_cancelled"),
            "lapsed": t("parking.status_lapsed")}.get(status, status)


def round_state(t, status: str) -> str:
    return {"open": t("parking.round_open"), "closed": t("parking.round_closed"),
            "committed": t("parking.round_committed"),
            "drawn": t("parking.round_drawn")}.get(status, status)


def when(t, ts: datetime, now: datetime) -> str:
    """A time as a person at the kiosk reads it: today / tomorrow / a date, local time."""
    local, today = ts.astimezone(), now.astimezone().date()
    hm = local.strftime("%H:%M")
    if local.date() == today:
        return t("parking.today_at", hm=hm)
    if local.date() == today + timedelta(days=1):
        return t("parking.tomorrow_at", hm=hm)
    return t("parking.date_at", month=f"{local.month:02d}", day=f"{local.day:02d}", hm=hm)


def hour_or_when(t, ts: datetime, now: datetime) -> str:
    """Just the time when it is today: lines stay short."""
    if ts.astimezone().date() == now.astimezone().date():
        return ts.astimezone().strftime("%H:%M")
    return when(t, ts, now)


def span(t, start: datetime, end: datetime, now: datetime) -> str:
    """A slot: the end alone when it is the same day as the start."""
    if start.astimezone().date() == end.astimezone().date():
        return f"{when(t, start, now)}–{end.astimezone().strftime('%H:%M')}"
    return f"{when(t, start, now)} – {when(t, end, now)}"


def why(t, refusal: Refused, now: datetime) -> str:
    reason = refusal.reason
    if reason == "wrong_login":
        return t("parking.login_wrong")
    if reason == "blocked":
        return t("parking.login_blocked")
    if reason == "round_busy":
        return t("parking.round_busy", round=refusal.round_id)
    if reason == "need":
        return t("parking.why_need")
    if reason == "no_request":
        return t("parking.why_no_request")
    if reason == "not_held":
        return t("parking.why_not_held")
    if reason == "slot_over":
        return t("parking.why_slot_over")
    if reason == "too_long":
        return t("parking.why_too_long")
    if reason == "overlap":
        return t("parking.why_overlap")
    if reason == "check_in_later" and refusal.at is not None:
        return t("parking.why_check_in_later", time=when(t, refusal.at, now))
    if reason == "no_offer":
        return t("parking.why_no_offer")
    if reason == "gate":
        return t("parking.why_gate")
    return t("parking.why_other", detail=refusal.detail or reason)


def labelled(rows: list[tuple[str, str]], indent: int = 1) -> list[str]:
    """Label and value lines with the values lined up (wide characters count twice)."""
    width = max((cell_len(label) for label, _ in rows), default=0)
    return [" " * indent + label + " " * (width - cell_len(label) + 1) + value
            for label, value in rows]


# --- panes ----------------------------------------------------------------------------------


class ParkingEntryPane(EntryPane):
    def compose_extra(self) -> ComposeResult:
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(self.app.t("nav.back"), classes="nav step-back")


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
        self.pane_name = "park-menu"
        self.gate_raised = False
        self._busy = False
        self._retry_at = 0.0
        self._refusal = ""
        self._confirm: str | None = None
        self._message = ""
        # The reservation being put together: type, day (0 today, 1 tomorrow), hour,
        # hours, kind.
        self.choice: dict[str, Any] = {"type": "standard", "day": 0, "hour": None,
                                       "hours": 2, "kind": "visitor"}

    # --- layout ---------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial=self.pane_name, id="park-switcher"):
            with Vertical(id="park-menu"):
                yield Static(t("parking.menu_prompt"), classes="prompt")
                with Horizontal(id="park-menu-buttons"):
                    yield KeyButton(t("parking.menu_login"), id="park-login",
                                    classes="park-big", variant="primary")
                    yield KeyButton(t("parking.menu_board"), id="park-show-board",
                                    classes="park-big")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("nav.back"), classes="nav step-back")
            yield ParkingEntryPane(t("parking.unit_prompt"), allowed=UNIT_CHARACTERS,
                                   keys="123456789", length=8, id="park-unit")
            yield ParkingEntryPane(t("parking.pin_prompt"), allowed=DIGITS,
                                   keys="123456789", length=8, masked=True, id="park-pin")
            with Vertical(id="park-member"):
                with VerticalScroll(classes="park-scroll"):
                    yield Static(t("parking.loading"), id="park-info", markup=False)
                yield Static("", id="park-message", classes="message", markup=False)
                with Grid(id="park-actions"):
                    for action in MEMBER_ACTIONS:
                        yield KeyButton(self._action_label(action), id=f"act-{action}",
                                        classes="park-action",
                                        variant="primary" if action == "reserve"
                                        else "default")
            with Vertical(id="park-request"):
                yield Static("", id="park-request-prompt", classes="prompt")
                with Horizontal(id="park-request-types", classes="park-row-big"):
                    for spot_type in SPOT_TYPES:
                        yield KeyButton(type_name(t, spot_type), name=spot_type,
                                        id=f"req-{spot_type}", classes="park-type")
                yield Static("", id="park-request-message", classes="message", markup=False)
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("nav.back"), classes="nav step-back")
            with Vertical(id="park-reserve"):
                yield Static(t("parking.reserve_prompt"), classes="park-line")
                with Horizontal(classes="park-row"):
                    for spot_type in SPOT_TYPES:
                        yield KeyButton(type_name(t, spot_type), name=spot_type,
                                        id=f"res-type-{spot_type}", classes="res-type")
                with Horizontal(classes="park-row"):
                    yield KeyButton(t("parking.today"), name="0", id="res-day-0",
                                    classes="res-day")
                    yield KeyButton(t("parking.tomorrow"), name="1", id="res-day-1",
                                    classes="res-day")
                    for kind in KINDS:
                        yield KeyButton(kind_name(t, kind), name=kind, id=f"res-kind-{kind}",
                                        classes="res-kind")
                with Grid(id="res-hours"):
                    for hour in range(24):
                        yield KeyButton(f"{hour:02d}", name=str(hour), id=f"res-hour-{hour}",
                                        classes="res-hour")
                with Horizontal(classes="park-row"):
                    for hours in DURATIONS:
                        yield KeyButton(t("parking.hours", n=hours), name=str(hours),
                                        id=f"res-dur-{hours}", classes="res-dur")
                yield Static("", id="park-reserve-summary", classes="message", markup=False)
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("parking.reserve_go"), id="res-go", classes="nav",
                                    variant="success")
                    yield KeyButton(t("nav.back"), classes="nav step-back")
            with Vertical(id="park-board"):
                with VerticalScroll(classes="park-scroll"):
                    yield Static(t("parking.loading"), id="park-board-info", markup=False)
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("nav.back"), classes="nav step-back")

    def _action_label(self, action: str) -> str:
        t = self.t
        return {"request": t("parking.act_request"), "withdraw": t("parking.act_withdraw"),
                "release": t("parking.act_release"), "reserve": t("parking.act_reserve"),
                "checkin": t("parking.act_checkin"), "cancel": t("parking.act_cancel"),
                "accept": t("parking.act_accept"), "decline": t("parking.act_decline"),
                "gate": t("parking.act_gate"), "logout": t("parking.act_logout")}[action]

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick_wait)
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
            self.set_note(self.t("parking.note_member", unit=self.member.unit,
                                 member=self.member.member))
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
            if self._busy:
                return True
            entry = self.query_one(f"#{pane}", EntryPane)
            named = {"backspace": "back", "delete": "clear", "enter": "ok"}
            if event.key in named:
                return entry.press(named[event.key])
            if event.character and event.character.isprintable() and event.character != " ":
                return entry.press(event.character)
            return False
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
        t = self.t
        table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False)
        table.add_column(t("parking.col_type"))
        for heading in (t("parking.col_spots"), t("parking.col_free"), t("parking.col_held"),
                        t("parking.col_reserved"), t("parking.col_out")):
            table.add_column(heading, justify="right")
        for c in board.types:
            table.add_row(type_name(t, c.type), str(c.spots), str(c.free_now), str(c.held),
                          str(c.reserved_now), str(c.out_of_service))
        lines: list[Any] = [t("parking.board_spots"), table, ""]
        if board.next_draw is not None:
            d = board.next_draw
            lines.append(t("parking.board_next", round=d.round, n=d.askers,
                           state=round_state(t, d.status)))
            lines += self._draw_lines(d, board.now)
        elif board.next_round is not None:
            lines.append(t("parking.board_next_none", round=board.next_round))
        lines.append("")
        if board.current_round is None:
            lines.append(t("parking.board_no_allocations"))
        else:
            lines.append(t("parking.board_allocations", round=board.current_round,
                           n=len(board.allocations)))
            cells = [f"{member}→{spot}" for member, spot, _ in board.allocations]
            width = max((cell_len(c) for c in cells), default=0) + 2
            per_line = max(1, 76 // max(width, 1))
            for i in range(0, len(cells), per_line):
                lines.append("  " + "".join(c.ljust(width) for c in cells[i:i + per_line])
                             .rstrip())
        if board.last_draw is not None:
            lines.append("")
            d = board.last_draw
            lines.append(t("parking.board_last", round=d.round, n=d.askers,
                           when=when(t, d.drawn_at, board.now) if d.drawn_at else ""))
            lines += self._draw_lines(d, board.now)
        lines.append(t("parking.board_verify"))
        self.query_one("#park-board-info", Static).update(_stack(lines))

    def _draw_lines(self, draw: DrawInputs, now: datetime) -> list[str]:
        """The inputs anyone needs to re-check the draw, lined up."""
        t = self.t
        rows = []
        if draw.closed_at is not None:
            rows.append((t("parking.label_closed"), when(t, draw.closed_at, now)))
        if draw.eligible_hash:
            rows.append((t("parking.label_eligible"), draw.eligible_hash))
        if draw.algorithm:
            rows.append((t("parking.label_algorithm"), draw.algorithm))
        if draw.public_random is not None:
            rows.append((t("parking.label_random"), draw.public_random))
        if draw.inputs_hash:
            rows.append((t("parking.label_inputs"), draw.inputs_hash))
        if draw.results_hash:
            rows.append((t("parking.label_results"), draw.results_hash))
        return labelled(rows)

    # --- login ----------------------------------------------------------------------------

    def open_login(self) -> None:
        pane = self.query_one("#park-unit", EntryPane)
        pane.clear()
        self.show_pane("park-unit")

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        message.stop()
        if self._busy or not message.value:
            return
        if message.pane.id == "park-unit":
            self.unit = message.value
            pin = self.query_one("#park-pin", EntryPane)
            pin.clear()
            pin.query_one(".prompt", Static).update(self.t("parking.pin_prompt_unit",
                                                           unit=self.unit))
            pin.say("")
            self.show_pane("park-pin")
        elif message.pane.id == "park-pin":
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                message.pane.say(self.t("pickup.wait", s=int(wait + 0.999)))
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
            self._refusal = why(self.t, refusal, datetime.now().astimezone())
            if refusal.wait_s:
                self._retry_at = time.monotonic() + refusal.wait_s
                self._tick_wait()
            else:
                unit_pane.say(self._refusal + "\n" + self.t("parking.login_hint"))
            return
        self.member = message.member
        self.set_note(self.t("parking.note_member", unit=message.member.unit,
                             member=message.member.member))
        self.say("")
        self.show_pane("park-member")
        self.load_member()

    def _tick_wait(self) -> None:
        """Count the back-off down on screen, so nobody types into a wall."""
        if not self._retry_at or self.member is not None:
            return
        self._retry_at = count_down(self.query_one("#park-unit", EntryPane), self._refusal,
                                    self._retry_at, self.t)

    def logout(self) -> None:
        self.member = None
        self.view = None
        self._message = ""
        self._confirm = None
        self.set_note("")
        self.query_one("#park-info", Static).update(self.t("parking.loading"))
        self.say("")
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
        self.query_one("#park-message", Static).update(text)

    def show_view(self, view: MemberView) -> None:
        self.view = view
        t = self.t
        now = view.now
        lines: list[str] = []
        if view.holding is not None:
            h = view.holding
            lines.append(t("parking.my_spot", spot=h.spot, type=type_name(t, h.type),
                           round=h.round))
        else:
            lines.append(t("parking.no_spot"))
        if view.busy_round is not None and view.asked is not None:
            lines.append(t("parking.round_busy_asked", round=view.busy_round,
                           type=type_name(t, view.asked)))
        elif view.busy_round is not None:
            lines.append(t("parking.round_busy", round=view.busy_round))
        elif view.open_round is not None and view.asked is not None:
            lines.append(t("parking.round_asked", round=view.open_round,
                           type=type_name(t, view.asked)))
        elif view.open_round is not None:
            lines.append(t("parking.round_not_asked", round=view.open_round))
        if view.reservations:
            lines.append(t("parking.reservations"))
            for r in view.reservations:
                lines.append("  " + self._reservation_line(r, now))
        for w in view.waiting:
            lines.append(self._wait_line(w, now))
        lines.append(t("parking.history"))
        history = [self._round_entry(p) for p in view.history]
        history += [t("parking.history_reservation", when=when(t, r.start, now), spot=r.spot,
                      status=status_name(t, r.status)) for r in view.past_reservations]
        lines.append("  " + (" · ".join(history) if history else t("parking.history_none")))
        self.query_one("#park-info", Static).update("\n".join(lines))
        self._show_actions(view)

    def _reservation_line(self, r: Reservation, now: datetime) -> str:
        t = self.t
        status = status_name(t, r.status)
        if r.status == "booked" and self.view is not None:
            opens = r.start - self.view.early_checkin
            if opens > now:
                status += t("parking.checkin_from", time=hour_or_when(t, opens, now))
        return t("parking.reservation_line", spot=r.spot, type=type_name(t, r.type),
                 kind=kind_name(t, r.kind), span=span(t, r.start, r.end, now), status=status)

    def _wait_line(self, w: WaitPlace, now: datetime) -> str:
        t = self.t
        line = t("parking.waitlist_line", type=type_name(t, w.type),
                 span=span(t, w.start, w.end, now), n=w.position)
        if w.offer is not None and w.offer.offer_expires is not None:
            line += "\n  " + t("parking.offer_line", spot=w.offer.spot,
                               time=when(t, w.offer.offer_expires, now))
        return line

    def _round_entry(self, p: Any) -> str:
        t = self.t
        if p.spot is None:
            return t("parking.history_refused", round=p.round,
                     type=type_name(t, p.asked or ""))
        if p.released:
            return t("parking.history_released", round=p.round, spot=p.spot)
        return t("parking.history_spot", round=p.round, spot=p.spot)

    def _show_actions(self, view: MemberView) -> None:
        has_barrier = getattr(self.app.peripherals, "barrier", None) is not None
        shown = {
            "request": view.open_round is not None and bool(view.round_types),
            "withdraw": view.asked is not None and view.busy_round is None,
            "release": view.holding is not None,
            "reserve": bool(view.reserve_types),
            "checkin": view.checkable is not None,
            "cancel": view.cancellable is not None,
            "accept": view.offer is not None,
            "decline": view.offer is not None,
            "gate": view.may_open_gate and has_barrier,
            "logout": True,
        }
        for action, visible in shown.items():
            button = self.query_one(f"#act-{action}", KeyButton)
            button.display = visible
            label = self._action_label(action)
            if action == "request" and view.asked is not None:
                label = self.t("parking.act_change")
            if action == "gate" and self.gate_raised:
                label = self.t("parking.gate_up")
            button.label = label
            button.disabled = action == "gate" and self.gate_raised
            button.variant = "warning" if self._confirm == action else (
                "primary" if action == "reserve" else "default")

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
            self.say(self._confirm_text(action, view))
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
            self.start_action("cancel", desk.cancel, member, view.cancellable.id)
        elif action == "accept" and view.offer is not None:
            self.start_action("accept", desk.accept, member, view.offer.id)
        elif action == "decline" and view.offer is not None:
            self.start_action("decline", desk.decline, member, view.offer.id)
        elif action == "gate":
            self.open_gate(member)

    def _confirm_text(self, action: str, view: MemberView) -> str:
        t = self.t
        if action == "release" and view.holding is not None:
            return t("parking.confirm_release", spot=view.holding.spot)
        if action == "withdraw":
            return t("parking.confirm_withdraw", round=view.open_round or "")
        if action == "cancel" and view.cancellable is not None:
            return t("parking.confirm_cancel", spot=view.cancellable.spot)
        if action == "decline" and view.offer is not None and view.offer.offer is not None:
            return t("parking.confirm_decline", spot=view.offer.offer.spot)
        return t("parking.confirm_again")

    def start_action(self, action: str, fn: Any, *args: Any) -> None:
        self._busy = True
        self.say(self.t("deposit.pin_checking"))
        self._act(action, fn, *args)

    @work(thread=True, exclusive=True, group="parking-act", exit_on_error=False)
    def _act(self, action: str, fn: Any, *args: Any) -> None:
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
                self.query_one("#park-request-message", Static).update(text)
            elif self.pane == "park-reserve":
                self._summary(text)
            else:
                self.say(text)
            self.load_member()
            return
        self.say(self._done_text(message.action, message.result, now))
        self.show_pane("park-member")
        self.load_member()

    def _done_text(self, action: str, result: Any, now: datetime) -> str:
        t = self.t
        if action == "request":
            round_id, spot_type = result
            return t("parking.done_request", round=round_id, type=type_name(t, spot_type))
        if action == "withdraw":
            return t("parking.done_withdraw", round=result)
        if action == "release":
            return t("parking.done_release", spot=result)
        if action == "checkin":
            return t("parking.done_checkin", spot=result.spot)
        if action == "cancel":
            return t("parking.done_cancel")
        if action == "accept":
            return t("parking.done_accept", spot=result.spot,
                     span=span(t, result.start, result.end, now))
        if action == "decline":
            return t("parking.done_decline")
        reserved: Reserved = result
        if reserved.reservation is not None:
            r = reserved.reservation
            return t("parking.done_reserved", spot=r.spot, span=span(t, r.start, r.end, now))
        return t("parking.done_waitlisted", type=type_name(t, self.choice["type"]),
                 n=reserved.position or 0)

    # --- requesting a spot in the round ---------------------------------------------------

    def open_request(self, view: MemberView) -> None:
        t = self.t
        self.query_one("#park-request-prompt", Static).update(
            t("parking.request_prompt", round=view.open_round or ""))
        self.query_one("#park-request-message", Static).update(t("parking.request_fair"))
        offered = {c.type: c for c in view.round_types}
        for spot_type in SPOT_TYPES:
            button = self.query_one(f"#req-{spot_type}", KeyButton)
            choice = offered.get(spot_type)
            button.display = choice is not None
            if choice is not None:
                button.label = (f"{type_name(t, spot_type)}\n"
                                + t("parking.type_choice", spots=choice.spots,
                                    askers=choice.askers))
                button.variant = "primary" if spot_type == view.asked else "default"
        self.show_pane("park-request")

    def do_request(self, spot_type: str) -> None:
        if self.member is None or self._busy:
            return
        desk = self.app.parking
        member = self.member.member

        def request() -> tuple[str, str]:
            return desk.request(member, spot_type), spot_type

        self._busy = True
        self.query_one("#park-request-message", Static).update(self.t("deposit.pin_checking"))
        self._act("request", request)

    # --- reserving a slot -----------------------------------------------------------------

    def open_reserve(self, view: MemberView) -> None:
        choice = self.choice
        if choice["type"] not in view.reserve_types:
            choice["type"] = view.reserve_types[0]
        local = view.now.astimezone()
        if choice["hour"] is None:
            choice["day"], choice["hour"] = (0, local.hour + 1) if local.hour < 23 else (1, 8)
        choice["hours"] = min(choice["hours"], view.max_hours)
        self._show_choice()
        self.show_pane("park-reserve")

    def choose(self, **picked: Any) -> None:
        self.choice.update(picked)
        self._show_choice()

    def _start(self) -> datetime | None:
        if self.view is None or self.choice["hour"] is None:
            return None
        day = self.view.now.astimezone().date() + timedelta(days=self.choice["day"])
        local = datetime(day.year, day.month, day.day, self.choice["hour"])
        return local.astimezone()  # the kiosk's local zone

    def _show_choice(self) -> None:
        view = self.view
        if view is None:
            return
        t = self.t
        choice = self.choice
        now_hour = view.now.astimezone().hour
        for spot_type in SPOT_TYPES:
            button = self.query_one(f"#res-type-{spot_type}", KeyButton)
            button.display = spot_type in view.reserve_types
            button.variant = "primary" if spot_type == choice["type"] else "default"
        for day in (0, 1):
            self.query_one(f"#res-day-{day}", KeyButton).variant = (
                "primary" if day == choice["day"] else "default")
        for kind in KINDS:
            self.query_one(f"#res-kind-{kind}", KeyButton).variant = (
                "primary" if kind == choice["kind"] else "default")
        if choice["day"] == 0 and choice["hour"] is not None and choice["hour"] < now_hour:
            choice["hour"] = now_hour
        for hour in range(24):
            button = self.query_one(f"#res-hour-{hour}", KeyButton)
            button.disabled = choice["day"] == 0 and hour < now_hour
            button.variant = "primary" if hour == choice["hour"] else "default"
        for hours in DURATIONS:
            button = self.query_one(f"#res-dur-{hours}", KeyButton)
            button.display = hours <= view.max_hours
            button.variant = "primary" if hours == choice["hours"] else "default"
        start = self._start()
        if start is not None:
            end = start + timedelta(hours=choice["hours"])
            self._summary(t("parking.reserve_summary", type=type_name(t, choice["type"]),
                            span=span(t, start, end, view.now),
                            kind=kind_name(t, choice["kind"])))

    def _summary(self, text: str) -> None:
        self.query_one("#park-reserve-summary", Static).update(text)

    def submit_reservation(self) -> None:
        start = self._start()
        if self.member is None or self._busy or start is None:
            return
        choice = self.choice
        self._busy = True
        self._summary(self.t("deposit.pin_checking"))
        self._act("reserve", self.app.parking.reserve, self.member.member, choice["type"],
                  choice["kind"], start, choice["hours"])

    # --- the gate -------------------------------------------------------------------------

    def open_gate(self, member: str) -> None:
        """Raise the barrier for a few seconds. Only ever from this button, at the kiosk:
        nothing from the network reaches it."""
        app = self.app
        desk = app.parking
        peripherals = app.peripherals
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
        if peripherals is not None:
            app.run_worker(gate, thread=True, group="parking-gate", exclusive=True,
                           exit_on_error=False)

    def on_gate_moved(self, message: GateMoved) -> None:
        self.gate_raised = message.raised
        self.say(self.t("parking.gate_open", s=int(self.gate_open_s)) if message.raised
                 else self.t("parking.gate_down"))
        if self.view is not None:
            self._show_actions(self.view)


def _stack(parts: list[Any]) -> Any:
    """Lines of text and rich renderables, one under the other."""
    from rich.console import Group
    from rich.text import Text

    return Group(*(Text(p) if isinstance(p, str) else p for p in parts))
