"""A member's page: their spot, the round, reservations, waitlist places and history, a
message line, and the actions open to them now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid, Vertical, VerticalScroll
from textual.widgets import Static

from kiosk.parking.desk import MemberView, WaitPlace
from kiosk.parking.register import Reservation, Reserved
from tui.kiosk_node import InKiosk
from tui.refusals import Translate
from tui.screens.parking.words import (
    action_label,
    hour_or_when,
    kind_name,
    span,
    status_name,
    type_name,
    when,
)
from tui.widgets.keypad import KeyButton

# Each action has its place in the grid for good: one not open now is disabled, never
# removed, so the grid does not reflow and a second tap lands where the first did.
MEMBER_ACTIONS = ("request", "withdraw", "release", "reserve", "checkin", "cancel", "accept",
                  "decline", "leave", "gate", "logout")


class MemberPage(InKiosk, Vertical):
    def compose(self) -> ComposeResult:
        t = self.app.t
        with VerticalScroll(classes="park-scroll"):
            yield Static(t("parking.loading"), id="park-info", markup=False)
        yield Static("", id="park-message", classes="message", markup=False)
        with Grid(id="park-actions"):
            for action in MEMBER_ACTIONS:
                yield KeyButton(action_label(t, action), id=f"act-{action}",
                                classes="park-action",
                                variant="primary" if action == "reserve" else "default")

    def say(self, text: str) -> None:
        self.query_one("#park-message", Static).update(text)

    def clear(self) -> None:
        self.query_one("#park-info", Static).update(self.app.t("parking.loading"))
        self.say("")

    def show(self, view: MemberView, *, gate_raised: bool, confirm: str | None) -> None:
        t = self.app.t
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
                lines.append("  " + self._reservation_line(view, r, now))
        for w in view.waiting:
            lines.append(self._wait_line(w, now))
        lines.append(t("parking.history"))
        history = [self._round_entry(p) for p in view.history]
        history += [t("parking.history_reservation", when=when(t, r.start, now), spot=r.spot,
                      status=status_name(t, r.status)) for r in view.past_reservations]
        lines.append("  " + (" · ".join(history) if history else t("parking.history_none")))
        self.query_one("#park-info", Static).update("\n".join(lines))
        self.show_actions(view, gate_raised=gate_raised, confirm=confirm)

    def _reservation_line(self, view: MemberView, r: Reservation, now: datetime) -> str:
        t = self.app.t
        status = status_name(t, r.status)
        if r.status == "booked":
            opens = r.start - view.early_checkin
            if opens > now:
                status += t("parking.checkin_from", time=hour_or_when(t, opens, now))
        return t("parking.reservation_line", spot=r.spot, type=type_name(t, r.type),
                 kind=kind_name(t, r.kind), span=span(t, r.start, r.end, now), status=status)

    def _wait_line(self, w: WaitPlace, now: datetime) -> str:
        t = self.app.t
        line = t("parking.waitlist_line", type=type_name(t, w.type),
                 span=span(t, w.start, w.end, now), n=w.position)
        if w.offer is not None and w.offer.offer_expires is not None:
            line += "\n  " + t("parking.offer_line", spot=w.offer.spot,
                               time=when(t, w.offer.offer_expires, now))
        return line

    def _round_entry(self, p: Any) -> str:
        t = self.app.t
        if p.spot is None:
            return t("parking.history_refused", round=p.round,
                     type=type_name(t, p.asked or ""))
        if p.released:
            return t("parking.history_released", round=p.round, spot=p.spot)
        return t("parking.history_spot", round=p.round, spot=p.spot)

    def show_actions(self, view: MemberView, *, gate_raised: bool,
                     confirm: str | None) -> None:
        """The actions open to the member now; the one waiting for a second press shows
        as a warning."""
        t = self.app.t
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
            "leave": leavable(view) is not None,
            "gate": view.may_open_gate and has_barrier,
            "logout": True,
        }
        for action, open_now in shown.items():
            button = self.query_one(f"#act-{action}", KeyButton)
            label = action_label(t, action)
            if action == "request" and view.asked is not None:
                label = t("parking.act_change")
            if action == "gate" and gate_raised:
                label = t("parking.gate_up")
            button.label = label
            button.disabled = not open_now or (action == "gate" and gate_raised)
            button.variant = "warning" if confirm == action else (
                "primary" if action == "reserve" else "default")


def leavable(view: MemberView) -> WaitPlace | None:
    """The waitlist place "leave" takes the member off: the first one without an offer
    (an offer is declined with its own button)."""
    return next((w for w in view.waiting if w.offer is None), None)


def confirm_text(t: Translate, action: str, view: MemberView) -> str:
    """What a second press of ``action`` would do, naming what it acts on (two bookings
    of one spot differ by their time)."""
    if action == "release" and view.holding is not None:
        return t("parking.confirm_release", spot=view.holding.spot)
    if action == "withdraw":
        return t("parking.confirm_withdraw", round=view.open_round or "")
    if action == "cancel" and view.cancellable is not None:
        r = view.cancellable
        return t("parking.confirm_cancel", spot=r.spot, span=span(t, r.start, r.end, view.now))
    place = leavable(view)
    if action == "leave" and place is not None:
        return t("parking.confirm_leave", type=type_name(t, place.type),
                 span=span(t, place.start, place.end, view.now))
    if action == "decline" and view.offer is not None and view.offer.offer is not None:
        return t("parking.confirm_decline", spot=view.offer.offer.spot)
    return t("parking.confirm_again")


def done_text(t: Translate, action: str, result: Any, now: datetime,
              asked_type: str) -> str:
    """What the desk did for ``action``; ``asked_type`` is the type a reservation asked."""
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
        r = result
        return t("parking.done_cancel", spot=r.spot, span=span(t, r.start, r.end, now))
    if action == "leave":
        place = result
        return t("parking.done_leave", type=type_name(t, place.type),
                 span=span(t, place.start, place.end, now))
    if action == "accept":
        return t("parking.done_accept", spot=result.spot,
                 span=span(t, result.start, result.end, now))
    if action == "decline":
        return t("parking.done_decline")
    reserved: Reserved = result
    if reserved.reservation is not None:
        r = reserved.reservation
        return t("parking.done_reserved", spot=r.spot, span=span(t, r.start, r.end, now))
    return t("parking.done_waitlisted", type=type_name(t, asked_type),
             n=reserved.position or 0)
