"""The maintenance screen: the on-duty session, the workers that read and act, and the way
between the panes (name → PIN → overview → compartment / runbook / review / spots / reconcile /
roster, every action through the reason pane)."""

from __future__ import annotations

from textual import events, work
from textual.app import ComposeResult
from textual.widgets import Button, ContentSwitcher, Static

from kiosk.backoff import TooManyAttempts
from kiosk.duty import NotOnDuty, WrongDutyPin
from kiosk.maintenance_view import Action, ActionResult, MaintenanceParts, Overview, gather, perform
from tui.messages import LanguageChanged
from tui.screens.base import KioskScreen
from tui.screens.maintenance.compartment import CompartmentPane
from tui.screens.maintenance.messages import (
    ActionFinished,
    DutyAnswered,
    NamePicked,
    OnDutyLoaded,
    OverviewLoaded,
    ReviewLoaded,
    RosterLoaded,
    SpotsLoaded,
)
from tui.screens.maintenance.overview import OverviewPane
from tui.screens.maintenance.pin import WhoPane, duty_pin_entry, refused_text
from tui.screens.maintenance.reason import ReasonPane
from tui.screens.maintenance.reconcile import ReconcilePane
from tui.screens.maintenance.review import ReviewPane
from tui.screens.maintenance.roster import RosterPane
from tui.screens.maintenance.runbook import RunbookPane
from tui.screens.maintenance.spots import SpotsPane
from tui.screens.runbooks import done_text
from tui.widgets.compartment_grid import CompartmentCell, PickLine
from tui.widgets.entry import Countdown, EntryPane
from tui.widgets.keyboard import text_key
from tui.widgets.keypad import BACK, CLEAR, OK

GRID_COLUMNS = 8
REFRESH_S = 2.0


class MaintenanceScreen(KioskScreen):
    TITLE_KEY = "maintenance.title"
    MAINTAINERS_STATUS = True

    def __init__(self) -> None:
        super().__init__()
        self.maintainer: str | None = None
        self.candidate: str | None = None  # the name picked, whose PIN is asked for
        self.overview: Overview | None = None
        self.pane = "who-pane"
        self.selected: str | None = None  # the compartment shown, or highlighted by arrows
        self.review_parcel: int | None = None
        self.pending: Action | None = None  # the action the reason pane is for
        self._return_pane = "overview-pane"
        self._busy = False
        self._spot_states: dict[str, str] = {}
        self.countdown = Countdown(self, self.t,
                              lambda text: self.query_one("#pin-pane", EntryPane).say(text),
                              showing=lambda: self.pane == "pin-pane")

    @property
    def parts(self) -> MaintenanceParts:
        parts = self.app.parts.maintenance if self.app.parts else None
        if parts is None:
            raise RuntimeError("this kiosk was built without the maintenance tools")
        return parts

    # --- layout -------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with ContentSwitcher(initial=self.pane, id="maint-switcher"):
            yield WhoPane()
            yield duty_pin_entry(self.t)
            yield OverviewPane()
            yield CompartmentPane()
            yield ReasonPane()
            yield RunbookPane()
            yield ReviewPane()
            yield SpotsPane()
            yield ReconcilePane()
            yield RosterPane()

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self._refresh)
        self.countdown.run()
        self.load_on_duty()

    async def on_language_changed(self, message: LanguageChanged) -> None:
        # Recomposed in the new language; a logged-in maintainer lands on the overview.
        if self.pane not in ("who-pane", "pin-pane", "overview-pane"):
            self.pane = "overview-pane" if self.maintainer else "who-pane"
        await self.recompose()
        self.load_on_duty()
        if self.candidate and self.pane == "pin-pane":
            self._ask_pin(self.candidate)
        if self.maintainer:
            self._after_login()
        if self.overview is not None:
            await self.show_overview(self.overview)

    def show_pane(self, pane: str) -> None:
        self.pane = pane
        self.query_one("#maint-switcher", ContentSwitcher).current = pane
        # A button Tab left focused in another pane would take the Enter meant for this one.
        self.set_focus(None)

    # --- keys ---------------------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        key = event.key
        if self.pane == "who-pane":
            names = self.query_one(WhoPane).names or ()
            if key == "escape":
                self.go_home()
            elif key.isdigit() and 1 <= int(key) <= len(names):
                self.pick(names[int(key) - 1])
            else:
                return
        elif self.pane == "pin-pane":
            if key == "escape":
                self.show_who()
            elif not self.query_one("#pin-pane", EntryPane).press_key(event):
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
        elif self.pane == "reason-pane" and key == "enter":
            self.submit_reason()
        elif self.pane == "reason-pane" and text_key(event) not in (None, BACK, CLEAR, OK):
            # A physical keyboard: the typing goes on in the keyboard screen.
            self.type_reason(event.character or "")
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
            self.show_who()
        else:
            self.show_pane("overview-pane")

    # --- logging in: the name, then the PIN ---------------------------------------------

    def show_who(self, message: str = "") -> None:
        """Back to the names on duty (read again: a shift may have changed meanwhile)."""
        self.candidate = None
        self.query_one(WhoPane).say(message)
        self.query_one("#pin-pane", EntryPane).clear()
        self.show_pane("who-pane")
        self.load_on_duty()

    @work(thread=True, exclusive=True, group="on-duty", exit_on_error=False)
    def load_on_duty(self) -> None:
        shift = self.parts.duty.on_duty()
        self.post_message(OnDutyLoaded(shift.maintainers if shift else ()))

    async def on_on_duty_loaded(self, message: OnDutyLoaded) -> None:
        await self.query_one(WhoPane).show(message.names)

    def pick(self, name: str) -> None:
        if not self._busy:
            self._busy = True
            self.check_name(name)

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def check_name(self, name: str) -> None:
        # "Not on duty" is told from the public roster alone, before any PIN is typed.
        shift = self.parts.duty.on_duty()
        self.post_message(NamePicked(name, shift.maintainers if shift else ()))

    async def on_name_picked(self, message: NamePicked) -> None:
        self._busy = False
        if message.name in message.on_duty:
            self._ask_pin(message.name)
            return
        await self.query_one(WhoPane).show(message.on_duty)
        self.query_one(WhoPane).say(refused_text(self.t, NotOnDuty(), message.on_duty))

    def _ask_pin(self, name: str) -> None:
        if name != self.candidate:
            # A wait is someone's own: another name's PIN is the service's to refuse.
            self.countdown.cancel()
            self.query_one("#pin-pane", EntryPane).say("")
        self.candidate = name
        pane = self.query_one("#pin-pane", EntryPane)
        pane.set_prompt(self.t("maintenance.pin_for", name=name))
        self.show_pane("pin-pane")

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        pane = message.pane
        if self._busy or self.candidate is None:
            return
        if not message.value:
            return
        if self.countdown.waiting:
            self.countdown.tick()
            return
        self._busy = True
        pane.say(self.t("maintenance.checking"))
        self.login(self.candidate, message.value)

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def login(self, name: str, pin: str) -> None:
        duty = self.parts.duty
        try:
            answer = DutyAnswered(maintainer=duty.login(name, pin))
        except (NotOnDuty, WrongDutyPin, TooManyAttempts) as refusal:
            answer = DutyAnswered(refusal=refusal)
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
        assert answer.refusal is not None
        text = refused_text(self.t, answer.refusal, answer.on_duty)
        self.app.speak_refusal(self, answer.refusal)  # a wait is said by the countdown
        if answer.refusal.reason == "not_on_duty":  # the shift changed meanwhile
            self.show_who(text)
        elif answer.refusal.wait_s:
            self.countdown.start(text, answer.refusal.wait_s)
        else:
            pane.say(text)

    def _after_login(self) -> None:
        self.set_note(self.t("maintenance.logged_in", name=self.maintainer))

    def log_out(self, message: str = "") -> None:
        """End the session; back home, or to the names with a word on why it ended."""
        self.maintainer = None
        self.set_note("")
        if not message:
            self.go_home()
            return
        self.show_who(message)

    # --- the overview -------------------------------------------------------------------

    def _refresh(self) -> None:
        if self.maintainer and self.pane in ("overview-pane", "compartment-pane"):
            self.load_overview()
        elif self.pane == "who-pane":
            self.load_on_duty()

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
        await self.query_one(OverviewPane).show(o, self.selected)

    # --- a compartment ------------------------------------------------------------------

    def on_compartment_cell_chosen(self, message: CompartmentCell.Chosen) -> None:
        self.open_compartment(message.compartment)

    def open_compartment(self, compartment: str) -> None:
        self.selected = compartment
        self.query_one(CompartmentPane).say("")
        self.show_compartment(compartment)
        self.show_pane("compartment-pane")

    def show_compartment(self, compartment: str) -> None:
        c = self.overview.compartment(compartment) if self.overview else None
        if c is not None:
            self.query_one(CompartmentPane).show(c)

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
        self.pending = action
        self._return_pane = return_pane
        await self.query_one(ReasonPane).ask(action)
        self.show_pane("reason-pane")

    def type_reason(self, first: str = "") -> None:
        """The on-screen keyboard for the reason; its OK is the reason pane's OK."""
        def typed(reason: str | None) -> None:
            if reason is not None and self.pane == "reason-pane":
                self.query_one(ReasonPane).pick(reason)
                self.submit_reason()

        self.app.push_screen(self.query_one(ReasonPane).keyboard(first), callback=typed)

    def submit_reason(self) -> None:
        if self._busy or self.pending is None or self.maintainer is None:
            return
        pane = self.query_one(ReasonPane)
        reason = pane.reason
        if not reason:
            pane.say(self.t("reason.required"))
            return
        self._busy = True
        pane.say(self.t("reason.working"))
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
            self.query_one(SpotsPane).say(said)
            self.show_pane("spots-pane")
            self.load_spots()
        elif action.kind == "resolve_review":
            self.query_one(ReviewPane).say(said)
            self.open_review(None)
        elif self._return_pane == "compartment-pane":
            self.query_one(CompartmentPane).say(said)
            self.show_pane("compartment-pane")
        else:
            self.query_one("#overview-message", Static).update(said)
            self.show_pane(self._return_pane)
        self.load_overview()

    # --- faults and runbooks ------------------------------------------------------------

    async def on_pick_line_picked(self, message: PickLine.Picked) -> None:
        line = message.line
        name = line.name or ""
        if line.has_class("fault-line") and self.overview is not None:
            index = int(name)
            if index < len(self.overview.faults):
                self.query_one(RunbookPane).show(self.overview.faults[index])
                self.show_pane("runbook-pane")
        elif line.has_class("review-line"):
            self.review_parcel = int(name)
            self._show_review_choice()
        elif line.has_class("spot-line"):
            out = self._spot_states.get(name) == "out_of_service"
            await self.ask_reason(Action("spot_in" if out else "spot_out", name), "spots-pane")

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
        parcels = message.overview.in_review
        await self.query_one(ReviewPane).show(parcels)
        if self.review_parcel not in {p["id"] for p in parcels}:
            self.review_parcel = None
        self._show_review_choice()

    def _show_review_choice(self) -> None:
        self.query_one(ReviewPane).show_choice(
            self.overview.in_review if self.overview else [], self.review_parcel)

    # --- spots --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="spots", exit_on_error=False)
    def load_spots(self) -> None:
        parking = self.parts.parking
        self.post_message(SpotsLoaded(parking.spots() if parking is not None else []))

    async def on_spots_loaded(self, message: SpotsLoaded) -> None:
        self._spot_states = {spot.spot: spot.state for spot in message.spots}
        await self.query_one(SpotsPane).show(message.spots)

    # --- reconcile ----------------------------------------------------------------------

    def show_reconciled(self, result: ActionResult) -> None:
        self.query_one(ReconcilePane).show(result)
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
        await self.query_one(RosterPane).show(message, self.maintainer)

    # --- buttons ------------------------------------------------------------------------

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button
        bid = button.id or ""
        event.stop()
        if button.has_class("step-back"):
            if self.pane == "pin-pane":
                self.show_who()
            else:
                self.go_home()
        elif button.has_class("who") and button.name:
            self.pick(button.name)
        elif bid == "pin-roster" or bid == "to-roster":
            self.open_roster()
        elif bid == "pin-practice":
            from tui.screens.maintenance.practice import PracticeScreen
            self.app.push_screen(PracticeScreen())
        elif button.has_class("to-overview"):
            self.step_back()
        elif bid == "logout":
            self.log_out()
        elif bid == "to-spots":
            self.query_one(SpotsPane).say("")
            self.show_pane("spots-pane")
            self.load_spots()
        elif bid == "to-review":
            self.query_one(ReviewPane).say("")
            self.open_review(None)
        elif bid == "to-reconcile":
            await self.ask_reason(Action("reconcile", "all"), "overview-pane")
        elif bid.startswith("do-"):
            await self._compartment_action(bid)
        elif button.has_class("reason") and button.name:
            self.query_one(ReasonPane).pick(button.name)
        elif bid == "reason-ok":
            self.submit_reason()
        elif bid == "reason-type":
            self.type_reason()
        elif bid == "reason-cancel":
            self.step_back()
        elif button.has_class("outcome") and self.review_parcel is not None:
            await self.ask_reason(Action("resolve_review", str(self.review_parcel),
                                         button.name or ""), "review-pane")
        elif button.has_class("handover") and button.name:
            await self.ask_reason(Action("handover", button.name), "roster-pane")
