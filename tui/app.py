"""The kiosk's Textual app: screens on top of the locker service, device events as messages.

Devices call back on their own threads; those callbacks only ever ``post_message`` to the
app (thread-safe, and safe on the caller's thread too, which gpiozero's mock pins use).
Anything that blocks — the locker service, SQLite, the board bus — runs in thread workers.

The app runs on ``KioskParts`` (tui/parts.py), given ready-made or opened by ``connect``
on a worker after the first frame: the home screen shows at once, and says it is still
checking the devices until they answer. Nothing here imports SQLite or the service before
that. The messages it passes to the screens are in tui/messages.py; the app imports its
screens, never the other way (tests/test_tui_imports.py). Every worker's failure ends in
``worker_failed``, the one handler.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from kiosk.status import KioskStatus
from tui.i18n import LANGUAGES, translate
from tui.messages import (
    Connected,
    ConnectFailed,
    KioskReady,
    LanguageChanged,
    MotionSeen,
    ParkingChanged,
    SpotSensed,
    StatusUpdated,
    TamperChanged,
)
from tui.parts import KioskParts
from tui.screens.home import HomeScreen
from tui.screens.prompts import prompt, refusal_step
from tui.widgets.idle_warning import IdleWarning
from tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from kiosk.hardware import Peripherals
    from kiosk.lockers.service import LockerService
    from kiosk.parking.desk import ParkingDesk
    from tui.demo import DemoWorld

# The composition and the tests import KioskParts from here too.
__all__ = ["KioskApp", "KioskParts"]

log = logging.getLogger(__name__)
# How long the calm message after a failed worker stays on screen.
CALM_MESSAGE_S = 8.0
# The same work failing again within this time (the status probe runs every 2 s) is
# logged in one line, not shown or reported again.
REPEAT_S = 60.0
# The idle reset is announced this long before (at most half the idle time).
IDLE_WARN_S = 10.0
# A shorter warning is none: nobody reads and taps in less (tests use tiny idle times).
IDLE_WARN_MIN_S = 1.0


def could_not_start(error: Exception) -> str:
    return f"kiosk: could not start: {type(error).__name__}: {error}"


class KioskApp(App[None]):
    CSS_PATH = "kiosk.tcss"
    ENABLE_COMMAND_PALETTE = False
    # A screen comes up with nothing focused: keys and a scanner's Enter go to its entry
    # until someone presses Tab (tui/widgets/keypad.py, KeyButton).
    AUTO_FOCUS = None
    TITLE = "kiosk"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "demo_help", show=False),
        Binding("f2", "demo_hardware", show=False),
    ]

    def __init__(self, parts: KioskParts | None = None, *,
                 connect: Callable[[KioskApp], KioskParts] | None = None,
                 language: str = "zh", idle_s: float = 60.0,
                 clock: Callable[[], datetime] = datetime.now,
                 on_tick: Callable[[], None] | None = None, tick_s: float = 1.0,
                 status_every_s: float = 2.0, door_poll_s: float = 0.1,
                 done_s: float = 4.0, on_ready: Callable[[], None] | None = None,
                 explain_failure: Callable[[Exception], str] | None = None):
        super().__init__()
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        if (parts is None) == (connect is None):
            raise ValueError("give the parts, or a way to connect them, not both")
        self.parts = parts
        self._connect = connect
        # The line a failed ``connect`` leaves on the terminal once the app has ended
        # (``failure_line``: printed by whoever ran the app, unwrapped, after the terminal
        # is restored: kiosk/setups/screen.py, run_screen).
        self._explain_failure = explain_failure or could_not_start
        self.failure_line: str | None = None
        self.default_language = language
        self.language = language
        self.idle_s = idle_s
        self.clock = clock
        self.on_tick = on_tick
        self.tick_s = tick_s
        self.door_poll_s = door_poll_s
        self.done_s = done_s
        self.on_ready = on_ready
        self.status = KioskStatus()
        self.status_updates = 0
        self._status_every_s = status_every_s
        self._last_input = time.monotonic()
        self._failed_at: dict[str, float] = {}  # where → when it last failed

    # --- parts ----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.parts is not None

    @property
    def lockers(self) -> LockerService:
        if self.parts is None:
            raise RuntimeError("the kiosk's services are not connected yet")
        return self.parts.lockers

    @property
    def peripherals(self) -> Peripherals | None:
        return self.parts.peripherals if self.parts else None

    @property
    def parking(self) -> ParkingDesk:
        if self.parts is None or self.parts.parking is None:
            raise RuntimeError("the kiosk has no parking register connected")
        return self.parts.parking

    @property
    def demo(self) -> DemoWorld | None:
        return self.parts.demo if self.parts else None

    # --- strings ------------------------------------------------------------------------

    def t(self, key: str, **values: object) -> str:
        return translate(self.language, key, **values)

    def speak(self, screen: DOMNode, step: str, **values: object) -> None:
        """Say the prompt for ``step`` on ``screen`` (tui/screens/prompts.py) aloud in the screen's
        language, if this kiosk speaks (``[speech] enabled``); the screen shows the same
        words anyway."""
        speech = self.parts.speech if self.parts is not None else None
        if speech is None:
            return
        text = prompt(self.t, type(screen).__name__, step, **values)
        if text:
            speech.say(text, self.language)

    def speak_refusal(self, screen: DOMNode, refusal: object, *, countdown: bool = True) -> None:
        """Say why a code or PIN was refused ("that code is not right…"); a refusal with a
        wait is said by the screen's countdown as it starts (tui/widgets/entry.py), or
        here on a screen with no countdown."""
        said = refusal_step(refusal)
        if said is not None and (said[0] != "wait" or not countdown):
            self.speak(screen, said[0], **said[1])

    # Large, high-contrast text (a class on the app: tui/kiosk.tcss, ".large-text").
    large_text = False

    def set_large_text(self, on: bool) -> None:
        self.large_text = on
        self.set_class(on, "large-text")

    def set_language(self, language: str) -> None:
        if language == self.language:
            return
        self.language = language
        for screen in self.screen_stack:
            screen.post_message(LanguageChanged(language))

    # --- life cycle ---------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        return HomeScreen()

    def on_mount(self) -> None:
        self.set_interval(self._status_every_s, self.refresh_status)
        self._idle_every = min(1.0, self.idle_s / 4)
        self._idle_checked = time.monotonic()
        self.set_interval(self._idle_every, self._check_idle)
        if self.on_tick is not None:
            self.set_interval(self.tick_s, self.on_tick)
        # The first frame first: the devices, SQLite and the status follow it.
        self.call_after_refresh(self._started if self.ready else self.connect_parts)

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect_parts(self) -> None:
        assert self._connect is not None
        try:
            self.post_message(Connected(self._connect(self)))
        except Exception as exc:  # shown to the person who started the kiosk
            self.post_message(ConnectFailed(self._explain_failure(exc)))

    def on_connected(self, message: Connected) -> None:
        self.parts = message.parts
        for screen in self.screen_stack:
            screen.post_message(KioskReady())
        self._started()

    def on_connect_failed(self, message: ConnectFailed) -> None:
        self.failure_line = message.error
        self.exit(return_code=1)

    def _started(self) -> None:
        self.refresh_status()
        if self.on_ready is not None:
            self.call_after_refresh(self.on_ready)

    # Device callbacks: called on any thread (gpiozero's, or the caller's with mock pins);
    # they only post a message, so the UI handles the event on its own loop.

    def device_tamper(self, opened: bool) -> None:
        self.post_message(TamperChanged(opened))

    def device_motion(self) -> None:
        self.post_message(MotionSeen())

    def device_spot(self, spot: str, occupied: bool, outcome: str) -> None:
        self.post_message(SpotSensed(spot, occupied, outcome))

    def device_parking_changed(self) -> None:
        """The register changed by time (a no-show released, an offer lapsed)."""
        self.post_message(ParkingChanged())

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def refresh_status(self) -> None:
        if self.parts is not None:
            self.post_message(StatusUpdated(self.parts.status()))

    def on_spot_sensed(self, message: SpotSensed) -> None:
        self.post_message(ParkingChanged())

    def on_parking_changed(self, message: ParkingChanged) -> None:
        for screen in self.screen_stack:
            screen.post_message(ParkingChanged())

    def on_status_updated(self, message: StatusUpdated) -> None:
        self.status = message.status
        self.status_updates += 1
        if not self.screen_stack:  # shutting down
            return
        for line in self.screen.query(StatusLine):
            line.status = message.status

    def on_tamper_changed(self, message: TamperChanged) -> None:
        # (The buzzer sounds from the composition's indicators, with or without a screen.)
        self.refresh_status()

    def on_motion_seen(self, message: MotionSeen) -> None:
        self._last_input = time.monotonic()

    @work(thread=True, group="buzzer", exit_on_error=False)
    def beep(self, times: int = 1) -> None:
        if self.peripherals is not None:
            self.peripherals.beep(times)

    # --- failed workers -------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The app's own workers (status, buzzer, the parking gate); the screens' and
        # widgets' workers come here through ``InKiosk`` (tui/kiosk_node.py).
        if event.state == WorkerState.ERROR:
            self.worker_failed(self, event.worker)

    def worker_failed(self, node: DOMNode, worker: Worker) -> None:
        """The one place a failed worker is handled: logged with its traceback, a calm
        word to the person at the kiosk, a fault for the maintainers; the kiosk carries
        on (every worker runs with ``exit_on_error=False``)."""
        where = f"{type(node).__name__}.{worker.name}"
        error = worker.error
        # Refusals of the store itself (kiosk/store.py: StoreBusy, DiskFull) that reach a
        # worker unhandled are not bugs: the person hears why, every time they try, and
        # no software fault is reported (a full disk is a fault of its own already).
        store_words = {"store_busy": self.t("error.store_busy"),
                       "disk_full": self.t("error.disk_full")}
        reason = getattr(error, "reason", None)
        if isinstance(reason, str) and reason in store_words:
            log.warning("%s: %s", where, error)
            self.notify(store_words[reason], severity="warning", timeout=CALM_MESSAGE_S)
            return
        now = time.monotonic()
        last = self._failed_at.get(where)
        self._failed_at[where] = now
        if last is not None and now - last < REPEAT_S:
            log.error("background work failed again in %s: %r", where, error)
            return
        log.error("background work failed in %s", where, exc_info=error)
        self.notify(self.t("error.calm"), severity="warning", timeout=CALM_MESSAGE_S)
        report = self.parts.worker_failed if self.parts is not None else None
        if report is not None:
            try:
                report(where, f"{type(error).__name__}: {error}")
            except Exception:  # the report must not take the kiosk down either
                log.exception("could not report the failed work in %s", where)

    # --- idle reset ---------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._last_input = time.monotonic()
            self._warn_idle(None)  # someone is there: the warning goes at once
        await super().on_event(event)

    def note_activity(self) -> None:
        """Someone is using the kiosk now: the idle reset counts from here."""
        self._last_input = time.monotonic()

    @property
    def idle_warn_s(self) -> float:
        """How long before the idle reset its warning counts down."""
        return min(IDLE_WARN_S, self.idle_s / 2)

    def _check_idle(self) -> None:
        now = time.monotonic()
        # Time the UI loop spent blocked (a screen's first mount, a slow frame) is the
        # kiosk keeping the person waiting, not the person being idle.
        late = now - self._idle_checked - self._idle_every
        self._idle_checked = now
        if late > self._idle_every:
            self._last_input += late
        if getattr(self.screen, "_busy", False):
            # A worker answers for the screen (a PIN checked, a door opened): the person
            # waits for the kiosk, not the other way round.
            self._last_input = now
        left = self.idle_s - (now - self._last_input)
        if left <= 0:
            self._warn_idle(None)
            self.reset_to_home()
        elif (left <= self.idle_warn_s and self.idle_warn_s >= IDLE_WARN_MIN_S
              and self._reset_would_change()):
            self._warn_idle(math.ceil(left))
        else:
            self._warn_idle(None)

    def _reset_would_change(self) -> bool:
        """Something to reset (another screen, the other language), and nothing holding
        the kiosk where it is (an open door)."""
        if any(getattr(s, "holds_door", False) for s in self.screen_stack):
            return False
        return (len(self.screen_stack) > 1 or self.language != self.default_language
                or self.large_text)

    def _warn_idle(self, seconds: int | None) -> None:
        if not self.screen_stack:
            return
        for warning in self.screen.query(IdleWarning):
            if warning.seconds != seconds:
                if warning.seconds is None:
                    self.speak(self.screen, "idle")
                warning.show(seconds)

    def reset_to_home(self) -> None:
        """Back to the home screen in the default language, every input gone.

        A screen waiting for a door to be shut keeps the kiosk where it is: the door and
        the parcel behind it matter more than a tidy screen.
        """
        self._last_input = time.monotonic()
        if any(getattr(s, "holds_door", False) for s in self.screen_stack):
            return
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.set_language(self.default_language)
        if self.large_text:
            self.set_large_text(False)
            for screen in self.screen_stack:
                screen.post_message(LanguageChanged(self.language))  # relabel the toggle

    # --- demo ---------------------------------------------------------------------------

    # The demo's panels load on first use: ``kiosk run`` never shows them.

    def action_demo_help(self) -> None:
        if self.demo is None:
            return
        from tui.screens.demo_panels import DemoHelpScreen

        if not isinstance(self.screen, DemoHelpScreen):
            self.push_screen(DemoHelpScreen())

    def action_demo_hardware(self) -> None:
        if self.demo is None:
            return
        from tui.screens.demo_panels import HardwareScreen

        if not isinstance(self.screen, HardwareScreen):
            self.push_screen(HardwareScreen())
