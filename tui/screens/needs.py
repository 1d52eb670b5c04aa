"""Needs and proposals: a household raises a need, a fault report or a proposal, and
supports others' (once per household; support can be withdrawn).

The list is public and shown to anyone; raising or supporting asks for the unit and the
household PIN first (the same login as sending a parcel), once per visit. The text is
typed on the on-screen keyboard (tui/widgets/keyboard.py). Every call to the needs book
(kiosk/needs.py) runs on a thread worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Static

from kiosk import pins
from kiosk.backoff import TooManyAttempts
from kiosk.lockers.model import Household, WrongPin
from kiosk.needs import KINDS, MAX_TEXT, Need, NeedError, NeedsBook, checked_text
from tui.refusals import refusal_text
from tui.screens.base import KioskScreen
from tui.screens.maintenance.common import replace_children
from tui.widgets.compartment_grid import PickLine
from tui.widgets.entry import DIGITS, UNIT_CHARACTERS, EntryPane
from tui.widgets.keyboard import TextEntry
from tui.widgets.keypad import KeyButton


@dataclass
class NeedsLoaded(Message):
    needs: list[Need]
    said: str = ""


@dataclass
class NeedsLogin(Message):
    household: Household | None = None
    refusal: WrongPin | TooManyAttempts | None = None


@dataclass
class NeedDone(Message):
    """What the book answered: to ``raise``, to a ``change`` of support, or the ``chosen``
    need as this household sees it. ``need`` None: refused, ``said`` says why."""

    origin: str
    need: Need | None
    said: str


class NeedsScreen(KioskScreen):
    TITLE_KEY = "needs.title"

    def __init__(self) -> None:
        super().__init__()
        self.household: Household | None = None
        self.unit = ""
        self.pane = "needs-list-pane"
        self.needs: list[Need] = []
        self.chosen: Need | None = None
        self.kind = "need"
        self.after_login = ""  # "raise", or "need" (the chosen need's pane)

    @property
    def book(self) -> NeedsBook:
        book = self.app.parts.needs if self.app.parts else None
        if book is None:
            raise RuntimeError("this kiosk was built without the needs feature")
        return book

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial=self.pane, id="needs-switcher"):
            with Vertical(id="needs-list-pane"):
                yield Static(t("needs.intro"), id="needs-intro", classes="prompt")
                yield Static("", id="needs-message", classes="message")
                yield VerticalScroll(id="needs-list", classes="reading")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("needs.raise"), id="needs-raise", classes="nav")
                    yield KeyButton(t("nav.back"), classes="nav step-back")
            yield EntryPane(t("send.unit_prompt"), allowed=UNIT_CHARACTERS,
                            keys="123456789", length=8, back=True, id="needs-unit-pane")
            yield EntryPane(t("send.pin_prompt"), allowed=DIGITS, keys="123456789",
                            length=pins.MAX_DIGITS, masked=True, back=True, id="needs-pin-pane")
            with Vertical(id="needs-kind-pane"):
                yield Static(t("needs.kind_prompt"), classes="prompt")
                with Horizontal(classes="pane-buttons"):
                    for kind, label in (("need", t("needs.kind.need")),
                                        ("fault", t("needs.kind.fault")),
                                        ("proposal", t("needs.kind.proposal"))):
                        yield KeyButton(label, name=kind, id=f"needs-kind-{kind}",
                                        classes="nav needs-kind")
                    yield KeyButton(t("nav.back"), id="needs-kind-back", classes="nav")
            with Vertical(id="needs-text-pane"):
                yield TextEntry(t("needs.text_prompt", n=MAX_TEXT), max_len=MAX_TEXT,
                                upper=False, hint=t("needs.text_hint"),
                                validate=self._refuse_text, id="needs-text")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("nav.back"), id="needs-text-back", classes="nav")
            with Vertical(id="needs-need-pane"):
                yield Static("", id="needs-need-text", classes="reading")
                yield Static("", id="needs-need-message", classes="message")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("needs.support"), id="needs-support", classes="nav")
                    yield KeyButton(t("needs.withdraw"), id="needs-withdraw", classes="nav")
                    yield KeyButton(t("nav.back"), id="needs-need-back", classes="nav")

    def on_mount(self) -> None:
        self.load()

    def show_pane(self, pane: str) -> None:
        self.pane = pane
        self.query_one("#needs-switcher", ContentSwitcher).current = pane

    # --- the list -----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="needs", exit_on_error=False)
    def load(self, said: str = "") -> None:
        unit = self.household.unit if self.household else None
        self.post_message(NeedsLoaded(self.book.needs(household=unit), said))

    async def on_needs_loaded(self, message: NeedsLoaded) -> None:
        self.needs = message.needs
        t = self.t
        lines = [PickLine(self._line(n), name=str(n.id), id=f"need-{n.id}",
                          classes="need-line") for n in message.needs]
        if not lines:
            lines = [PickLine(t("needs.none"), name="", id="needs-none")]
        await replace_children(self.query_one("#needs-list"), lines)
        self.query_one("#needs-message", Static).update(message.said)

    def _line(self, n: Need) -> str:
        t = self.t
        mine = " ✓" if n.supported_by_me else ""
        return (f"#{n.id} · {self._kind(n.kind)} · {t('needs.support_count', n=n.support)}"
                f"{mine}\n{n.text}")

    def _kind(self, kind: str) -> str:
        t = self.t
        return {"need": t("needs.kind.need"), "fault": t("needs.kind.fault"),
                "proposal": t("needs.kind.proposal")}.get(kind, kind)

    def on_pick_line_picked(self, message: PickLine.Picked) -> None:
        name = message.line.name or ""
        chosen = next((n for n in self.needs if str(n.id) == name), None)
        if chosen is None:
            return
        self.chosen = chosen
        if self.household is None:
            self.ask_login("need")
        else:
            self.show_need(chosen)

    def show_need(self, need: Need, said: str = "") -> None:
        t = self.t
        self.query_one("#needs-need-text", Static).update(
            f"#{need.id} · {self._kind(need.kind)}\n\n{need.text}\n\n"
            + t("needs.support_count", n=need.support)
            + (f"\n{t('needs.you_support')}" if need.supported_by_me else ""))
        self.query_one("#needs-need-message", Static).update(said)
        self.query_one("#needs-support").display = not need.supported_by_me
        self.query_one("#needs-withdraw").display = need.supported_by_me
        self.show_pane("needs-need-pane")

    # --- logging in ---------------------------------------------------------------------

    def ask_login(self, then: str) -> None:
        self.after_login = then
        unit = self.query_one("#needs-unit-pane", EntryPane)
        unit.clear()
        unit.say("")
        self.show_pane("needs-unit-pane")

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        if not message.value or self._busy:
            return
        if message.pane.id == "needs-unit-pane":
            self.unit = message.value
            self.query_one("#needs-pin-pane", EntryPane).say("")
            self.show_pane("needs-pin-pane")
        elif message.pane.id == "needs-pin-pane":
            self._busy = True
            message.pane.say(self.t("deposit.pin_checking"))
            self.login(self.unit, message.value)

    @work(thread=True, exclusive=True, group="needs-login", exit_on_error=False)
    def login(self, unit: str, pin: str) -> None:
        try:
            answer = NeedsLogin(household=self.app.lockers.resident_login(unit, pin))
        except (WrongPin, TooManyAttempts) as refusal:
            answer = NeedsLogin(refusal=refusal)
        self.post_message(answer)

    def on_needs_login(self, message: NeedsLogin) -> None:
        self._busy = False
        pin = self.query_one("#needs-pin-pane", EntryPane)
        pin.clear()
        if message.household is None:
            assert message.refusal is not None
            unit = self.query_one("#needs-unit-pane", EntryPane)
            unit.clear()
            unit.say(refusal_text(self.t, message.refusal, {}, self.t("send.login_wrong")))
            self.app.speak_refusal(self, message.refusal, countdown=False)
            self.show_pane("needs-unit-pane")
            return
        self.household = message.household
        self.set_note(self.t("needs.logged_in", unit=message.household.unit))
        if self.after_login == "raise":
            self.show_pane("needs-kind-pane")
        elif self.chosen is not None:
            self.chosen_again()
        else:
            self.show_pane("needs-list-pane")

    @work(thread=True, exclusive=True, group="needs", exit_on_error=False)
    def chosen_again(self) -> None:
        """The chosen need as this household sees it (does it support it already?)."""
        assert self.chosen is not None and self.household is not None
        try:
            self.post_message(NeedDone("chosen", self.book.get(self.chosen.id,
                                                               self.household.unit), ""))
        except NeedError as refusal:
            self.post_message(NeedDone("chosen", None, self._refused(refusal)))

    # --- raising ------------------------------------------------------------------------

    def _refuse_text(self, text: str) -> str | None:
        try:
            checked_text(text)
        except NeedError:
            return self.t("needs.text_wrong", min=3, max=MAX_TEXT)
        return None

    def on_text_entry_submitted(self, message: TextEntry.Submitted) -> None:
        message.stop()
        if self._busy or self.household is None:
            return
        self._busy = True
        message.entry.say(self.t("needs.sending"))
        self.raise_need(self.household.unit, self.kind, message.value)

    @work(thread=True, exclusive=True, group="needs-change", exit_on_error=False)
    def raise_need(self, unit: str, kind: str, text: str) -> None:
        try:
            need = self.book.raise_need(unit, kind, text)
            self.post_message(NeedDone("raise", need, self.t("needs.raised", id=need.id)))
        except NeedError as refusal:
            self.post_message(NeedDone("raise", None, self._refused(refusal)))

    @work(thread=True, exclusive=True, group="needs-change", exit_on_error=False)
    def change(self, support: bool, unit: str, need_id: int) -> None:
        try:
            if support:
                need = self.book.support(unit, need_id)
                said = self.t("needs.supported", id=need_id)
            else:
                need = self.book.withdraw(unit, need_id)
                if need.state == "withdrawn":
                    said = self.t("needs.withdrawn", id=need_id)
                else:
                    said = self.t("needs.support_withdrawn", id=need_id)
            self.post_message(NeedDone("change", need, said))
        except NeedError as refusal:
            self.post_message(NeedDone("change", None, self._refused(refusal)))

    def _refused(self, refusal: NeedError) -> str:
        t = self.t
        words = {"already_supported": t("needs.already"), "not_supported": t("needs.not_yours"),
                 "need_closed": t("needs.closed"), "no_need": t("needs.closed"),
                 "too_many_open": t("needs.too_many"),
                 "bad_text": t("needs.text_wrong", min=3, max=MAX_TEXT)}
        return refusal_text(t, refusal, words, t("error.calm"))

    def on_need_done(self, message: NeedDone) -> None:
        self._busy = False
        need, said = message.need, message.said
        if message.origin == "raise":
            entry = self.query_one("#needs-text", TextEntry)
            if need is None:
                entry.say(said)
                return
            entry.set_value("")
            entry.say("")
        elif need is not None and need.state == "open":
            self.chosen = need
            self.show_need(need, said)
            return
        elif need is None and message.origin == "change":
            self.query_one("#needs-need-message", Static).update(said)
            return
        self.show_pane("needs-list-pane")
        self.load(said)

    # --- keys and buttons ---------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            self.step_back()
        elif self.pane in ("needs-unit-pane", "needs-pin-pane"):
            if not self.query_one(f"#{self.pane}", EntryPane).press_key(event):
                return
        elif self.pane == "needs-text-pane":
            if not self.query_one("#needs-text", TextEntry).press_key(event):
                return
        else:
            return
        event.stop()

    def step_back(self) -> None:
        if self.pane == "needs-pin-pane":
            self.show_pane("needs-unit-pane")
        elif self.pane == "needs-text-pane":
            self.show_pane("needs-kind-pane")
        elif self.pane == "needs-list-pane":
            self.go_home()
        else:
            self.show_pane("needs-list-pane")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button
        bid = button.id or ""
        event.stop()
        if self._busy:
            return
        if button.has_class("step-back") or bid in ("needs-kind-back", "needs-text-back",
                                                    "needs-need-back"):
            self.step_back()
        elif bid == "needs-raise":
            if self.household is None:
                self.ask_login("raise")
            else:
                self.show_pane("needs-kind-pane")
        elif button.has_class("needs-kind") and button.name in KINDS:
            self.kind = button.name
            entry = self.query_one("#needs-text", TextEntry)
            entry.set_prompt(self.t("needs.text_prompt", n=MAX_TEXT) + " · "
                             + self._kind(self.kind))
            self.show_pane("needs-text-pane")
        elif bid in ("needs-support", "needs-withdraw") and self.chosen is not None \
                and self.household is not None:
            self._busy = True
            self.change(bid == "needs-support", self.household.unit, self.chosen.id)
