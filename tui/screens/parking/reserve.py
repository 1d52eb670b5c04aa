"""Reserving a short slot: spot type, today or tomorrow, visitor or moving, the hour and
how long; the summary line says what would be booked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Static

from kiosk.parking.desk import MemberView
from kiosk.parking.model import SPOT_TYPES
from tui.kiosk_node import InKiosk
from tui.screens.parking.words import kind_name, span, type_name
from tui.widgets.keypad import KeyButton

DURATIONS = (1, 2, 4, 8, 24, 48)
KINDS = ("visitor", "moving")


@dataclass
class Choice:
    """The reservation being put together; ``day`` 0 is today, 1 tomorrow."""

    type: str = "standard"
    day: int = 0
    hour: int | None = None
    hours: int = 2
    kind: str = "visitor"

    def fit(self, view: MemberView) -> None:
        """Start from what this member may book, from the next hour."""
        if self.type not in view.reserve_types:
            self.type = view.reserve_types[0]
        local = view.now.astimezone()
        if self.hour is None:
            self.day, self.hour = (0, local.hour + 1) if local.hour < 23 else (1, 8)
        self.hours = min(self.hours, view.max_hours)

    def start(self, view: MemberView | None) -> datetime | None:
        if view is None or self.hour is None:
            return None
        day = view.now.astimezone().date() + timedelta(days=self.day)
        local = datetime(day.year, day.month, day.day, self.hour)
        return local.astimezone()  # the kiosk's local zone


class ReservePane(InKiosk, Vertical):
    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static(t("parking.reserve_prompt"), classes="park-line")
        with Horizontal(classes="park-row"):
            for spot_type in SPOT_TYPES:
                yield KeyButton(type_name(t, spot_type), name=spot_type,
                                id=f"res-type-{spot_type}", classes="res-type")
        with Horizontal(classes="park-row"):
            yield KeyButton(t("parking.today"), name="0", id="res-day-0", classes="res-day")
            yield KeyButton(t("parking.tomorrow"), name="1", id="res-day-1", classes="res-day")
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

    def say(self, text: str) -> None:
        self.query_one("#park-reserve-summary", Static).update(text)

    def show(self, view: MemberView, choice: Choice) -> None:
        t = self.app.t
        now_hour = view.now.astimezone().hour
        for spot_type in SPOT_TYPES:
            button = self.query_one(f"#res-type-{spot_type}", KeyButton)
            button.display = spot_type in view.reserve_types
            button.variant = "primary" if spot_type == choice.type else "default"
        for day in (0, 1):
            self.query_one(f"#res-day-{day}", KeyButton).variant = (
                "primary" if day == choice.day else "default")
        for kind in KINDS:
            self.query_one(f"#res-kind-{kind}", KeyButton).variant = (
                "primary" if kind == choice.kind else "default")
        if choice.day == 0 and choice.hour is not None and choice.hour < now_hour:
            choice.hour = now_hour
        for hour in range(24):
            button = self.query_one(f"#res-hour-{hour}", KeyButton)
            button.disabled = choice.day == 0 and hour < now_hour
            button.variant = "primary" if hour == choice.hour else "default"
        for hours in DURATIONS:
            button = self.query_one(f"#res-dur-{hours}", KeyButton)
            button.display = hours <= view.max_hours
            button.variant = "primary" if hours == choice.hours else "default"
        start = choice.start(view)
        if start is not None:
            end = start + timedelta(hours=choice.hours)
            self.say(t("parking.reserve_summary", type=type_name(t, choice.type),
                       span=span(t, start, end, view.now), kind=kind_name(t, choice.kind)))
