"""Maintenance, for the volunteer on duty: the on-duty PIN, then every device at a glance and
the actions a maintainer may take — each with a reason, each in the public audit log.

One pane at a time: the PIN; the overview (compartment grid, boards, GPIO, uplink, faults);
a compartment and its actions; a fault's runbook; parcels in review; car park spots; the
reconcile result; the public roster with handover; and the reason pane every action passes
through. The roster, the boards and the services are called from thread workers only. The
session ends with the idle reset, with "log out", or when the shift does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, ContentSwitcher, Input, Static

from kiosk.backoff import TooManyAttempts
from kiosk.duty import NotOnDuty, Shift, WrongDutyPin
from kiosk.events import parse_iso
from kiosk.maintenance_view import (
    ERROR_COUNTERS,
    Action,
    ActionResult,
    FaultView,
    MaintenanceParts,
    Overview,
    gather,
    perform,
)
from kiosk.parking.register import SpotInfo
from tui.messages import LanguageChanged
from tui.screens.base import KioskScreen
from tui.screens.runbooks import (
    Translate,
    action_text,
    board_letter,
    common_reasons,
    done_text,
    gpio_text,
    mismatch_text,
    note_text,
    outcome_name,
    parcel_name,
    runbook,
    spot_state_name,
    spot_type_name,
)
from tui.widgets.compartment_grid import (
    CompartmentCell,
    CompartmentGrid,
    GridLegend,
    PickLine,
    state_name,
)
from tui.widgets.entry import EntryPane, count_down
from tui.widgets.keypad import KeyButton
from tui.widgets.size_chooser import size_name

DIGITS = "0123456789"
PIN_LENGTH = 12
GRID_COLUMNS = 8
REFRESH_S = 2.0
OUTCOMES = ("stored", "collected", "returned", "cancelled")


# --- messages from the workers --------------------------------------------------------------


@dataclass
class DutyAnswered(Message):
    maintainer: str | None = None
    refusal: str = ""  # "wrong", "off_shift" or "blocked"
    wait_s: float = 0.0
    on_duty: tuple[str, ...] = ()


@dataclass
class OverviewLoaded(Message):
    overview: Overview


@dataclass
class ReviewLoaded(Message):
    """A fresh overview, read to list the parcels in review."""

    overview: Overview


@dataclass
class ActionFinished(Message):
    result: ActionResult


@dataclass
class RosterLoaded(Message):
    shifts: list[Shift]
    current: Shift | None
    counts: dict[str, int]
    volunteers: list[str]


@dataclass
class SpotsLoaded(Message):
    spots: list[SpotInfo]


class DutyPinPane(EntryPane):
    def compose_extra(self) -> ComposeResult:
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(self.app.t("maintenance.roster"), id="pin-roster", classes="nav")
            yield KeyButton(self.app.t("nav.back"), classes="nav step-back")


async def replace_children(box: Widget, widgets: list[Widget]) -> None:
    """Swap a list's lines; the old ones are gone before the new (same ids) arrive."""
    await box.remove_children()
    await box.mount_all(widgets)


def back_bar(t: Translate, button_id: str) -> Horizontal:
    return Horizontal(KeyButton(t("nav.back"), id=button_id, classes="nav to-overview"),
                      classes="pane-buttons")


class MaintenanceScreen(KioskScreen):
    TITLE_KEY = "maintenance.title"

    def __init__(self) -> None:
        super().__init__()
        self.maintainer: str | None = None
        self.overview: Overview | None = None
        self.pane = "pin-pane"
        self.selected: str | None = None  # the compartment shown, or highlighted by arrows
        self.review_parcel: int | None = None
        self.pending: Action | None = None  # the action the reason pane is for
        self._return_pane = "overview-pane"
        self._busy = False
        self._retry_at = 0.0
        self._refusal = ""
        self._faults_shown: list[tuple[str, str]] | None = None
        self._spot_states: dict[str, str] = {}

    @property
    def parts(self) -> MaintenanceParts:
        parts = self.app.parts.maintenance if self.app.parts else None
        if parts is None:
            raise RuntimeError("this kiosk was built without the maintenance tools")
        return parts

    # --- layout -------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial=self.pane, id="maint-switcher"):
            yield DutyPinPane(t("maintenance.pin_prompt"), allowed=DIGITS, keys="123456789",
                              length=PIN_LENGTH, masked=True, id="pin-pane")
            with Vertical(id="overview-pane", classes="maint-pane"):
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
                    yield KeyButton(t("maintenance.reconcile"), id="to-reconcile",
                                    classes="bar")
                    yield KeyButton(t("maintenance.duty"), id="to-roster", classes="bar")
                    yield KeyButton(t("maintenance.logout"), id="logout", classes="bar",
                                    variant="warning")
            with Vertical(id="compartment-pane", classes="maint-pane"):
                yield Static("", id="comp-info", classes="info")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("comp.force"), id="do-force", classes="nav",
                                    variant="warning")
                    yield KeyButton(t("comp.out_of_service"), id="do-service", classes="nav")
                    yield KeyButton(t("comp.clear_fault"), id="do-clear", classes="nav")
                    yield KeyButton(t("comp.resolve"), id="do-resolve", classes="nav")
                    yield KeyButton(t("nav.back"), id="comp-back", classes="nav to-overview")
                yield Static("", id="comp-message", classes="message")
            with Vertical(id="reason-pane", classes="maint-pane"):
                yield Static("", id="reason-action", classes="prompt")
                yield Static(t("reason.prompt"), classes="hint")
                yield Grid(id="reason-choices")
                yield Input(placeholder=t("reason.placeholder"), id="reason-input",
                            max_length=200)
                yield Static("", id="reason-message", classes="message")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("key.ok"), id="reason-ok", classes="nav",
                                    variant="primary")
                    yield KeyButton(t("reason.cancel"), id="reason-cancel", classes="nav")
            with Vertical(id="runbook-pane", classes="maint-pane"):
                with VerticalScroll(classes="reading"):
                    yield Static("", id="runbook-text")
                yield back_bar(t, "runbook-back")
            with Vertical(id="review-pane", classes="maint-pane"):
                yield Static(t("review.title"), classes="prompt")
                yield VerticalScroll(id="review-list", classes="pick-list")
                yield Static("", id="review-chosen")
                with Horizontal(id="review-outcomes", classes="pane-buttons"):
                    for outcome in OUTCOMES:
                        yield KeyButton(outcome_name(t, outcome), id=f"outcome-{outcome}",
                                        name=outcome, classes="nav outcome")
                yield Static(t("review.help"), classes="hint")
                yield Static("", id="review-message", classes="message")
                yield back_bar(t, "review-back")
            with Vertical(id="spots-pane", classes="maint-pane"):
                yield Static(t("spots.title"), classes="prompt")
                yield VerticalScroll(id="spot-list", classes="pick-list")
                yield Static("", id="spots-message", classes="message")
                yield back_bar(t, "spots-back")
            with Vertical(id="reconcile-pane", classes="maint-pane"):
                yield Static(t("reconcile.title"), classes="prompt")
                with VerticalScroll(classes="reading"):
                    yield Static("", id="reconcile-text")
                yield back_bar(t, "reconcile-back")
            with Vertical(id="roster-pane", classes="maint-pane"):
                yield Static(t("roster.title"), classes="prompt")
                with VerticalScroll(classes="reading"):
                    yield Static("", id="roster-text")
                    yield Static(t("roster.handover"), id="handover-prompt", classes="hint")
                    yield Horizontal(id="handover-choices")
                yield back_bar(t, "roster-back")

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self._refresh)
        self.set_interval(1.0, self._tick_wait)

    async def on_language_changed(self, message: LanguageChanged) -> None:
        # Recomposed in the new language; a logged-in maintainer lands on the overview.
        if self.pane not in ("pin-pane", "overview-pane"):
            self.pane = "overview-pane" if self.maintainer else "pin-pane"
        self._faults_shown = None
        await self.recompose()
        if self.maintainer:
            self._after_login()
        if self.overview is not None:
            await self.show_overview(self.overview)

    def show_pane(self, pane: str) -> None:
        self.pane = pane
        self.query_one("#maint-switcher", ContentSwitcher).current = pane
        if pane == "reason-pane":
            self.query_one("#reason-input", Input).focus()
        else:
            # A focused text box would swallow the keys meant for the grid and the keypad.
            self.set_focus(None)

    def say(self, widget_id: str, text: str) -> None:
        self.query_one(f"#{widget_id}", Static).update(text)

    # --- keys ---------------------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        key = event.key
        if self.pane == "pin-pane":
            pane = self.query_one("#pin-pane", EntryPane)
            if key == "escape":
                self.go_home()
            elif key in ("backspace", "delete", "enter"):
                pane.press({"backspace": "back", "delete": "clear", "enter": "ok"}[key])
            elif event.character and event.character.isdigit():
                pane.press(event.character)
            else:
                return
        elif self.pane == "overview-pane":
            if key == "escape":
                self.log_out()
            elif key in ("left", "right", "up", "down"):
                await self._move({"left": -1, "right": 1, "up": -GRID_COLUMNS,
                                  "down": GRID_COLUMNS}[key])
            elif key == "enter" and self.selected:
                self.open_compartment(self.selected)
            else:
                return
        elif key == "escape":
            self.step_back()
        else:
            return
        event.stop()

    async def _move(self, step: int) -> None:
        if self.overview is None or not self.overview.compartments:
            return
        ids = [c.id for c in self.overview.compartments]
        i = ids.index(self.selected) + step if self.selected in ids else 0
        self.selected = ids[max(0, min(i, len(ids) - 1))]
        await self.show_overview(self.overview)

    def step_back(self) -> None:
        if self.pane == "reason-pane":
            self.show_pane(self._return_pane)
        elif self.maintainer is None:
            self.show_pane("pin-pane")
        else:
            self.show_pane("overview-pane")

    # --- logging in ---------------------------------------------------------------------

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        pane = message.pane
        if self._busy:
            return
        if len(message.value) < 6:
            pane.say(self.t("maintenance.pin_short"))
            return
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            pane.say(self._refusal + "\n" + self.t("pickup.wait", s=int(wait + 0.999)))
            return
        self._busy = True
        pane.say(self.t("maintenance.checking"))
        self.login(message.value)

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def login(self, pin: str) -> None:
        duty = self.parts.duty
        try:
            answer = DutyAnswered(maintainer=duty.login(pin))
        except NotOnDuty as exc:
            answer = DutyAnswered(refusal="off_shift", wait_s=exc.wait_s)
        except WrongDutyPin as exc:
            answer = DutyAnswered(refusal="wrong", wait_s=exc.wait_s)
        except TooManyAttempts as exc:
            answer = DutyAnswered(refusal="blocked", wait_s=exc.wait_s)
        if answer.maintainer is None:
            shift = duty.on_duty()
            answer.on_duty = shift.maintainers if shift else ()
        self.post_message(answer)

    def on_duty_answered(self, answer: DutyAnswered) -> None:
        self._busy = False
        pane = self.query_one("#pin-pane", EntryPane)
        pane.clear()
        if answer.maintainer is not None:
            self.maintainer = answer.maintainer
            pane.say("")
            self._after_login()
            self.show_pane("overview-pane")
            self.load_overview()
            return
        if answer.refusal == "off_shift":
            who = (self.t("maintenance.on_duty_now", names=", ".join(answer.on_duty))
                   if answer.on_duty else self.t("maintenance.nobody_on_duty"))
            self._refusal = self.t("maintenance.off_shift") + "\n" + who
        elif answer.refusal == "blocked":
            self._refusal = self.t("pickup.blocked")
        else:
            self._refusal = self.t("maintenance.pin_wrong")
        if answer.wait_s:
            self._retry_at = time.monotonic() + answer.wait_s
            self._tick_wait()
        else:
            pane.say(self._refusal)

    def _tick_wait(self) -> None:
        """Count the back-off down on screen, so nobody types into a wall."""
        if not self._retry_at or self.pane != "pin-pane":
            return
        self._retry_at = count_down(self.query_one("#pin-pane", EntryPane), self._refusal,
                                    self._retry_at, self.t)

    def _after_login(self) -> None:
        self.set_note(self.t("maintenance.logged_in", name=self.maintainer))

    def log_out(self, message: str = "") -> None:
        """End the session; back home, or to the PIN with a word on why it ended."""
        self.maintainer = None
        self.set_note("")
        if not message:
            self.go_home()
            return
        self.show_pane("pin-pane")
        self.query_one("#pin-pane", EntryPane).say(message)

    # --- the overview -------------------------------------------------------------------

    def _refresh(self) -> None:
        if self.maintainer and self.pane in ("overview-pane", "compartment-pane"):
            self.load_overview()

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def load_overview(self) -> None:
        status = self.app.status
        self.post_message(OverviewLoaded(gather(self.parts, status.uplink, status.backlog)))

    async def on_overview_loaded(self, message: OverviewLoaded) -> None:
        if await self._take(message.overview) and self.pane == "compartment-pane" \
                and self.selected:
            self.show_compartment(self.selected)

    async def _take(self, overview: Overview) -> bool:
        """Show a fresh overview; False when the session ended meanwhile."""
        if self.maintainer is None:
            return False
        if self.maintainer not in overview.on_duty:
            self.log_out(self.t("maintenance.session_ended"))
            return False
        self.overview = overview
        await self.show_overview(overview)
        return True

    async def show_overview(self, o: Overview) -> None:
        t = self.t
        self.query_one("#overview-loading").display = False
        self.query_one("#grid", CompartmentGrid).show(t, o.compartments, self.selected)
        self.say("free-line", t("maintenance.free", counts=" · ".join(
            f"{size_name(t, s)} {n}" for s, n in o.free.items())))
        self.query_one("#devices", Static).update(self._devices_text(o))
        self.say("faults-heading", t("maintenance.faults", n=len(o.faults)) if o.faults
                 else t("maintenance.no_faults"))
        faults = [(f.kind, f.subject) for f in o.faults]
        if faults != self._faults_shown:
            self._faults_shown = faults
            await replace_children(self.query_one("#fault-list", Vertical), [
                PickLine(runbook(t, f).title, name=str(i), id=f"fault-{i}",
                         classes="fault-line") for i, f in enumerate(o.faults)])
        self.query_one("#to-review", Button).label = t("maintenance.review",
                                                       n=len(o.in_review))

    def _devices_text(self, o: Overview) -> Text:
        t = self.t
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

    # --- a compartment ------------------------------------------------------------------

    def on_compartment_cell_chosen(self, message: CompartmentCell.Chosen) -> None:
        self.open_compartment(message.compartment)

    def open_compartment(self, compartment: str) -> None:
        self.selected = compartment
        self.say("comp-message", "")
        self.show_compartment(compartment)
        self.show_pane("compartment-pane")

    def show_compartment(self, compartment: str) -> None:
        t = self.t
        c = self.overview.compartment(compartment) if self.overview else None
        if c is None:
            return
        if c.door_open is None:
            door = sensor = t("comp.unknown")
        else:
            door = t("door.open") if c.door_open else t("door.shut")
            sensor = t("comp.item") if c.item_inside else t("comp.empty")
        lines = [t("comp.heading", door=c.id, size=size_name(t, c.size),
                   cabinet=board_letter(c.board), lock=c.lock),
                 t("comp.state", state=state_name(t, c.state)),
                 t("comp.door", door=door),
                 t("comp.sensor", sensor=sensor),
                 t("comp.parcel", parcel=parcel_name(t, c.parcel_state))]
        if c.review_parcel is not None:
            lines.append(t("comp.review", parcel=c.review_parcel,
                           note=note_text(t, c.review_note)))
        self.say("comp-info", "\n".join(lines))
        service = self.query_one("#do-service", Button)
        service.label = t("comp.out_of_service") if c.in_service else t("comp.in_service")
        self.query_one("#do-clear").display = c.fault is not None and c.fault != "board_offline"
        self.query_one("#do-resolve").display = c.review_parcel is not None

    async def _compartment_action(self, button_id: str) -> None:
        c = self.overview.compartment(self.selected) if self.overview and self.selected \
            else None
        if c is None:
            return
        if button_id == "do-force":
            await self.ask_reason(Action("force_door", c.id), "compartment-pane")
        elif button_id == "do-service":
            kind = "out_of_service" if c.in_service else "in_service"
            await self.ask_reason(Action(kind, c.id), "compartment-pane")
        elif button_id == "do-clear":
            await self.ask_reason(Action("clear_fault", c.id), "compartment-pane")
        elif button_id == "do-resolve" and c.review_parcel is not None:
            self.open_review(c.review_parcel)

    # --- the reason, then the action ----------------------------------------------------

    async def ask_reason(self, action: Action, return_pane: str) -> None:
        t = self.t
        self.pending = action
        self._return_pane = return_pane
        self.say("reason-action", action_text(t, action))
        self.say("reason-message", "")
        await replace_children(self.query_one("#reason-choices", Grid), [
            KeyButton(reason, name=reason, id=f"reason-{i}", classes="reason")
            for i, reason in enumerate(common_reasons(t, action.kind))])
        self.query_one("#reason-input", Input).value = ""
        self.show_pane("reason-pane")

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self.submit_reason()

    def submit_reason(self) -> None:
        if self._busy or self.pending is None or self.maintainer is None:
            return
        reason = self.query_one("#reason-input", Input).value.strip()
        if not reason:
            self.say("reason-message", self.t("reason.required"))
            return
        self._busy = True
        self.say("reason-message", self.t("reason.working"))
        self.perform_action(self.maintainer, self.pending, reason)

    @work(thread=True, exclusive=True, group="action", exit_on_error=False)
    def perform_action(self, actor: str, action: Action, reason: str) -> None:
        self.post_message(ActionFinished(perform(self.parts, actor, action, reason)))

    def on_action_finished(self, message: ActionFinished) -> None:
        self._busy = False
        self.pending = None
        result = message.result
        action = result.action
        t = self.t
        if result.off_duty:
            self.log_out(t("maintenance.session_ended"))
            return
        if result.done:
            said = done_text(t, action)
        elif action.kind == "force_door" and not result.error:
            said = t("failed.force_door", subject=action.subject)
        else:
            said = t("failed.other", error=result.error)
        if action.kind == "handover" and result.done:
            self.log_out(said)
            return
        if action.kind == "reconcile" and result.done:
            self.show_reconciled(result)
        elif action.kind in ("spot_out", "spot_in"):
            self.say("spots-message", said)
            self.show_pane("spots-pane")
            self.load_spots()
        elif action.kind == "resolve_review":
            self.say("review-message", said)
            self.open_review(None)
        elif self._return_pane == "compartment-pane":
            self.say("comp-message", said)
            self.show_pane("compartment-pane")
        else:
            self.say("overview-message", said)
            self.show_pane(self._return_pane)
        self.load_overview()

    # --- faults and runbooks ------------------------------------------------------------

    async def on_pick_line_picked(self, message: PickLine.Picked) -> None:
        line = message.line
        name = line.name or ""
        if line.has_class("fault-line") and self.overview is not None:
            index = int(name)
            if index < len(self.overview.faults):
                self.show_runbook(self.overview.faults[index])
        elif line.has_class("review-line"):
            self.review_parcel = int(name)
            self._show_review_choice()
        elif line.has_class("spot-line"):
            out = self._spot_states.get(name) == "out_of_service"
            await self.ask_reason(Action("spot_in" if out else "spot_out", name), "spots-pane")

    def show_runbook(self, fault: FaultView) -> None:
        t = self.t
        book = runbook(t, fault)
        text = Text()
        text.append(book.title + "\n\n", style="bold")
        text.append(t("runbook.check") + "\n", style="bold")
        text.append(book.check + "\n\n")
        text.append(t("runbook.fix") + "\n", style="bold")
        text.append(book.fix)
        self.query_one("#runbook-text", Static).update(text)
        self.show_pane("runbook-pane")

    # --- parcels in review --------------------------------------------------------------

    def open_review(self, parcel: int | None) -> None:
        """The list of parcels in review, with ``parcel`` chosen (from a compartment)."""
        self.review_parcel = parcel
        self.show_pane("review-pane")
        self.load_review()

    @work(thread=True, exclusive=True, group="review", exit_on_error=False)
    def load_review(self) -> None:
        status = self.app.status
        self.post_message(ReviewLoaded(gather(self.parts, status.uplink, status.backlog)))

    async def on_review_loaded(self, message: ReviewLoaded) -> None:
        if not await self._take(message.overview):
            return
        t = self.t
        parcels = message.overview.in_review
        lines: list[Static] = [
            PickLine(t("review.item", parcel=p["id"], door=p["compartment"],
                       size=size_name(t, p["size"]), note=note_text(t, p["note"])),
                     name=str(p["id"]), id=f"review-{p['id']}", classes="review-line")
            for p in parcels]
        await replace_children(self.query_one("#review-list", VerticalScroll),
                               lines or [Static(t("review.none"))])
        if self.review_parcel not in {p["id"] for p in parcels}:
            self.review_parcel = None
        self._show_review_choice()

    def _show_review_choice(self) -> None:
        parcels = {p["id"]: p for p in (self.overview.in_review if self.overview else [])}
        chosen = parcels.get(self.review_parcel) if self.review_parcel is not None else None
        for line in self.query(".review-line").results(PickLine):
            line.set_class(line.name == str(self.review_parcel), "is-selected")
        self.say("review-chosen", "" if chosen is None else self.t(
            "review.chosen", parcel=chosen["id"], door=chosen["compartment"]))
        self.query_one("#review-outcomes").display = chosen is not None

    # --- spots --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="spots", exit_on_error=False)
    def load_spots(self) -> None:
        parking = self.parts.parking
        self.post_message(SpotsLoaded(parking.spots() if parking is not None else []))

    async def on_spots_loaded(self, message: SpotsLoaded) -> None:
        t = self.t
        self._spot_states = {spot.spot: spot.state for spot in message.spots}
        lines: list[Static] = []
        for i, spot in enumerate(message.spots):
            line = PickLine(t("spots.item", spot=spot.spot, type=spot_type_name(t, spot.type),
                              state=spot_state_name(t, spot.state)),
                            name=spot.spot, id=f"spot-{i}", classes="spot-line")
            line.set_class(spot.state != "in_service", "is-out-of-service")
            lines.append(line)
        await replace_children(self.query_one("#spot-list", VerticalScroll),
                               lines or [Static(t("spots.none"))])

    # --- reconcile ----------------------------------------------------------------------

    def show_reconciled(self, result: ActionResult) -> None:
        t = self.t
        if result.mismatches:
            lines = [t("reconcile.found", n=len(result.mismatches))]
            lines += [mismatch_text(t, m) for m in result.mismatches]
        else:
            lines = [t("reconcile.agree")]
        self.say("reconcile-text", "\n".join(lines))
        self.show_pane("reconcile-pane")

    # --- the roster ---------------------------------------------------------------------

    def open_roster(self) -> None:
        self.show_pane("roster-pane")
        self.load_roster()

    @work(thread=True, exclusive=True, group="roster", exit_on_error=False)
    def load_roster(self) -> None:
        duty = self.parts.duty
        self.post_message(RosterLoaded(duty.roster(), duty.on_duty(), duty.counts(),
                                       duty.volunteers()))

    async def on_roster_loaded(self, message: RosterLoaded) -> None:
        t = self.t
        current = message.current.start if message.current else None
        shifts = message.shifts
        # The shift before this one, this one, and the coming ones.
        now_index = next((i for i, s in enumerate(shifts) if s.start == current),
                         len(shifts))
        shown = shifts[max(0, now_index - 1):now_index + 6]
        lines = []
        for s in shown:
            row = t("roster.row", start=_local(s.start), end=_local(s.end),
                    names=", ".join(s.maintainers))
            lines.append(row + ("  " + t("roster.now") if s.start == current else ""))
        if not lines:
            lines.append(t("roster.none"))
        lines.append("")
        lines.append(t("roster.counts", counts=" · ".join(
            f"{name} {n}" for name, n in sorted(message.counts.items()))))
        self.say("roster-text", "\n".join(lines))
        others = [] if self.maintainer is None or message.current is None else [
            v for v in message.volunteers if v not in message.current.maintainers]
        self.query_one("#handover-prompt").display = bool(others)
        await replace_children(self.query_one("#handover-choices", Horizontal), [
            KeyButton(v, name=v, id=f"handover-{i}", classes="nav handover")
            for i, v in enumerate(others)])

    # --- buttons ------------------------------------------------------------------------

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button
        bid = button.id or ""
        event.stop()
        if button.has_class("step-back"):
            self.go_home()
        elif bid == "pin-roster" or bid == "to-roster":
            self.open_roster()
        elif button.has_class("to-overview"):
            self.step_back()
        elif bid == "logout":
            self.log_out()
        elif bid == "to-spots":
            self.say("spots-message", "")
            self.show_pane("spots-pane")
            self.load_spots()
        elif bid == "to-review":
            self.say("review-message", "")
            self.open_review(None)
        elif bid == "to-reconcile":
            await self.ask_reason(Action("reconcile", "all"), "overview-pane")
        elif bid.startswith("do-"):
            await self._compartment_action(bid)
        elif button.has_class("reason") and button.name:
            self.query_one("#reason-input", Input).value = button.name
            self.say("reason-message", "")
        elif bid == "reason-ok":
            self.submit_reason()
        elif bid == "reason-cancel":
            self.step_back()
        elif button.has_class("outcome") and self.review_parcel is not None:
            await self.ask_reason(Action("resolve_review", str(self.review_parcel),
                                         button.name or ""), "review-pane")
        elif button.has_class("handover") and button.name:
            await self.ask_reason(Action("handover", button.name), "roster-pane")


def _local(ts: str) -> str:
    """A roster time as the people at the kiosk read it: their local date and time."""
    when: datetime = parse_iso(ts).astimezone()
    return when.strftime("%m-%d %H:%M")
