"""``kiosk monitor``: the maintainers' screen over every kiosk of a community, via MQTT.

Separate from the kiosk's own touch screen (tui/app.py). Updates come from paho's network
thread into an ``UpdateBuffer``; the buffer wakes the app with a thread-safe
``post_message`` at most once per frame, the app folds the batch into the ``Fleet`` model,
and a timer redraws at a few frames a second, only the cells that changed. So 2,000
events a second cost a few wake-ups and table refreshes a second, not 2,000.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from monitor.fleet import EventUpdate, Fleet, KioskView, UpdateBuffer, is_alert
from tui.i18n import LANGUAGES, translate

Translate = Callable[..., str]


def relabel_bindings(node: DOMNode, t: Translate) -> None:
    """Put a node's key bindings in its language. Textual reads ``BINDINGS`` when the class
    is made, so there a description names a catalogue key; each instance swaps in the words
    on its own copy of the bindings. A description that is no key (Textual's) stays."""
    table = node._bindings.key_to_bindings
    for key, bindings in table.items():
        table[key] = [replace(b, description=t(b.description)) if b.description else b
                      for b in bindings]


# (column key, width): 64 cells + 7 x 2 padding = 78, room for the scroll bar in 80 columns.
COLUMNS: list[tuple[str, int]] = [
    ("kiosk", 12), ("status", 7), ("free", 10), ("doors", 5), ("alerts", 19),
    ("backlog", 7), ("seen", 4),
]
SIZES = ("S", "M", "L")


@dataclass
class FeedWoke(Message):
    """Updates wait in the buffer (posted from paho's thread, at most once per frame)."""


# --- formatting -----------------------------------------------------------------------------


def ago(t: Translate, seconds: float | None) -> str:
    if seconds is None:
        return t("monitor.none")
    if seconds < 2:
        return t("monitor.ago.now")
    if seconds < 120:
        return t("monitor.ago.s", n=int(seconds))
    if seconds < 7200:
        return t("monitor.ago.m", n=int(seconds // 60))
    if seconds < 172800:
        return t("monitor.ago.h", n=int(seconds // 3600))
    return t("monitor.ago.d", n=int(seconds // 86400))


def local_time(ts: str) -> str:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone().strftime(
            "%H:%M:%S")
    except ValueError:
        return ts[:8]


def short_data(data: dict, limit: int = 48) -> str:
    text = " ".join(f"{k}={v}" for k, v in data.items() if v is not None and v != "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kiosk_label(view: KioskView, with_community: bool) -> str:
    return f"{view.community}/{view.kiosk}" if with_community else view.kiosk


def row_kind(view: KioskView) -> str | None:
    """Which highlight a kiosk's row gets: alerts outrank being offline."""
    if view.alerts:
        return "alert"
    if view.online is False:
        return "offline"
    return None


def availability(t: Translate, online: bool | None) -> str:
    if online is None:
        return t("monitor.unknown")
    return t("monitor.online") if online else t("monitor.offline")


def row_cells(t: Translate, view: KioskView, label: str, now: float) -> tuple[str, ...]:
    status = availability(t, view.online)
    lockers = view.lockers
    free = (t("monitor.none") if lockers is None
            else "/".join(str(lockers.free[s]) if s in lockers.free else t("monitor.none")
                          for s in SIZES))
    doors = t("monitor.none") if lockers is None else str(len(lockers.doors_open))
    alerts = view.alert_list()
    alert_text = "" if not alerts else alerts[0].kind + (
        f" +{len(alerts) - 1}" if len(alerts) > 1 else "")
    backlog = t("monitor.none") if view.uplink is None else str(view.uplink.backlog)
    seen = ago(t, None if view.last_seen is None else max(0.0, now - view.last_seen))
    return (label, status, free, doors, alert_text, backlog, seen)


def matches(view: KioskView, label: str, text: str) -> bool:
    if not text:
        return True
    haystack = " ".join([label, *(a.kind for a in view.alerts.values()),
                         "offline" if view.online is False else ""]).lower()
    return all(word in haystack for word in text.lower().split())


# --- widgets --------------------------------------------------------------------------------


class KioskTable(DataTable):
    """One row per kiosk. Rows are highlighted through component classes, so the colours
    live in monitor.tcss; ``row_kinds`` records which highlight each row has."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"kiosk-table--alert", "kiosk-table--offline"}
    # DataTable's own enter binding is hidden; this one shows in the footer. Descriptions
    # of bindings are catalogue keys, put in the monitor's language by relabel_bindings.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "monitor.key.detail"),
    ]
    DEFAULT_CSS = """
    KioskTable > .kiosk-table--alert { color: $text-error; text-style: bold; }
    KioskTable > .kiosk-table--offline { color: $text-warning; }
    """

    def __init__(self, t: Translate, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.t = t
        relabel_bindings(self, t)
        self.row_kinds: dict[str, str | None] = {}
        self._drawn: dict[str, tuple[tuple[str, ...], str | None]] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        t = self.t
        titles = {"kiosk": t("monitor.col.kiosk"), "status": t("monitor.col.status"),
                  "free": t("monitor.col.free"), "doors": t("monitor.col.doors"),
                  "alerts": t("monitor.col.alerts"), "backlog": t("monitor.col.backlog"),
                  "seen": t("monitor.col.seen")}
        for key, width in COLUMNS:
            self.add_column(titles[key], width=width, key=key)

    def style_for(self, kind: str | None) -> Style:
        if kind is None:
            return Style()
        return self.get_component_rich_style(f"kiosk-table--{kind}", partial=True)

    def selected_key(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    def show(self, rows: list[tuple[str, tuple[str, ...], str | None]]) -> None:
        """Draw ``(row key, cells, highlight)`` rows; touch only the cells that changed."""
        order = [key for key, _, _ in rows]
        if order != self._order:
            self._rebuild(rows)
            return
        for key, cells, kind in rows:
            old = self._drawn.get(key)
            if old == (cells, kind):
                continue
            style = self.style_for(kind)
            for i, (column, _) in enumerate(COLUMNS):
                if old is None or old[1] != kind or old[0][i] != cells[i]:
                    self.update_cell(key, column, Text(cells[i], style=style))
            self._drawn[key] = (cells, kind)
            self.row_kinds[key] = kind

    def _rebuild(self, rows: list[tuple[str, tuple[str, ...], str | None]]) -> None:
        selected = self.selected_key()
        self.clear()
        self._drawn.clear()
        self.row_kinds.clear()
        for key, cells, kind in rows:
            style = self.style_for(kind)
            self.add_row(*(Text(c, style=style) for c in cells), key=key)
            self._drawn[key] = (cells, kind)
            self.row_kinds[key] = kind
        self._order = [key for key, _, _ in rows]
        if selected in self._order:
            self.move_cursor(row=self._order.index(selected), animate=False)


def event_line(event: EventUpdate, label: str, alert_style: Style, label_width: int = 12
               ) -> Text:
    line = Text()
    line.append(f"{local_time(event.ts)} ")
    line.append(f"{label:<{label_width}.{label_width}} ")
    line.append(f"{event.type:<22} ", style=alert_style if is_alert(event) else "")
    line.append(short_data(event.data))
    return line


class KioskScreen(Screen[None]):
    """The detail of one kiosk, redrawn by the app's timer while it is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "monitor.key.back"),
    ]

    def __init__(self, key: str, t: Translate) -> None:
        super().__init__()
        self.key = key
        self.t = t
        relabel_bindings(self, t)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="detail")
        yield Footer()

    def show(self, view: KioskView | None, now: float, alert_style: Style) -> None:
        detail = self.query_one("#detail", Static)
        if view is None:
            detail.update(self.t("monitor.detail.gone"))
            return
        detail.update(detail_text(self.t, view, now, alert_style))


def detail_text(t: Translate, view: KioskView, now: float, alert_style: Style) -> Text:
    out = Text()

    def line(text: str, style: Style | str = "") -> None:
        out.append(text + "\n", style=style)

    line(t("monitor.detail.title", kiosk=view.kiosk, community=view.community), "bold")
    status = availability(t, view.online)
    line(t("monitor.detail.availability", status=status,
           seen=ago(t, None if view.last_seen is None else now - view.last_seen)))
    line(t("monitor.detail.events_seen", accepted=view.seqs.accepted, high=view.seqs.high,
           missing=view.seqs.missing, duplicates=view.duplicates, malformed=view.malformed))
    line("")
    line(t("monitor.detail.alerts"), "bold")
    if not view.alerts:
        line(t("monitor.detail.no_alerts"))
    for alert in view.alert_list():
        line(t("monitor.detail.alert", kind=alert.kind, subject=alert.subject or "",
               since=local_time(alert.since) if alert.since else t("monitor.detail.snapshot"),
               data=short_data(alert.data)), alert_style)
    line("")
    lockers = view.lockers
    if lockers is None:
        line(t("monitor.detail.no_lockers"))
    else:
        line(t("monitor.detail.lockers",
               free=" ".join(f"{s}:{n}" for s, n in lockers.free.items()),
               capacity=" ".join(f"{s}:{n}" for s, n in lockers.capacity.items()),
               doors=", ".join(lockers.doors_open) or t("monitor.none"),
               oos=", ".join(lockers.out_of_service) or t("monitor.none")))
    if view.boards:
        line(t("monitor.detail.boards"))
        for number in sorted(view.boards):
            board = view.boards[number]
            last = (t("monitor.detail.last_error", error=board.last_error)
                    if board.last_error else "")
            line(t("monitor.detail.board", board=number,
                   status=availability(t, board.online),
                   n=board.errors, last=last),
                 "" if board.online else alert_style)
    if view.uplink is None:
        line(t("monitor.detail.no_uplink"))
    else:
        line(t("monitor.detail.uplink", status=availability(t, view.uplink.connected),
               backlog=view.uplink.backlog))
    for device in sorted(view.other):
        line(t("monitor.detail.other", device=device, data=short_data(view.other[device], 70)))
    line("")
    line(t("monitor.detail.events"), "bold")
    for event in reversed(view.events):
        out.append(event_line(event, f"#{event.seq}", alert_style, label_width=6))
        out.append("\n")
    return out


# --- the app --------------------------------------------------------------------------------


class MonitorApp(App[None]):
    CSS_PATH = "monitor.tcss"
    ENABLE_COMMAND_PALETTE = False
    # Descriptions are catalogue keys, put in the monitor's language by relabel_bindings.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "monitor.key.quit"),
        Binding("slash", "filter", "monitor.key.filter"),
        Binding("a", "alerts_only", "monitor.key.alerts"),
        Binding("escape", "clear_filter", show=False),
    ]

    def __init__(self, buffer: UpdateBuffer, broker: str, fleet: Fleet | None = None,
                 refresh_hz: float = 8.0, clock: Callable[[], float] = time.time,
                 events_shown: int = 50, language: str = "en"):
        super().__init__()
        if language not in LANGUAGES:
            raise ValueError(f"no catalogue for language {language!r}; have {LANGUAGES}")
        # English by default: the maintainers' tools were English before they had a choice.
        self.language = language
        self.title = self.t("monitor.title")
        relabel_bindings(self, self.t)
        self.buffer = buffer
        self.broker = broker
        self.fleet = fleet if fleet is not None else Fleet(clock=clock)
        self.clock = clock
        self.refresh_hz = refresh_hz
        self.events_shown = events_shown
        self.filter_text = ""
        self.alerts_only = False
        self._drawn: tuple[int, int, str, bool] | None = None
        self._events_drawn = -1
        # How long each redraw took (seconds), for the benchmark and for curiosity.
        self.redraw_times: deque[float] = deque(maxlen=10_000)
        self.batches = 0

    def t(self, key: str, **values: object) -> str:
        return translate(self.language, key, **values)

    def compose(self) -> ComposeResult:
        t = self.t
        yield Static(id="summary")
        yield Input(placeholder=t("monitor.filter.placeholder"), id="filter")
        yield KioskTable(t, id="kiosks")
        yield Static(id="events")
        yield Footer()

    def on_mount(self) -> None:
        # Kept: while the detail screen is shown, query_one would search that screen.
        self.table = self.query_one(KioskTable)
        self.summary = self.query_one("#summary", Static)
        self.events_panel = self.query_one("#events", Static)
        self.filter_box = self.query_one("#filter", Input)
        self.events_panel.border_title = self.t("monitor.events.title", count=0)
        self.table.focus()
        self.set_interval(1 / self.refresh_hz, self.redraw)
        self.buffer.set_wake(self._wake)
        self.redraw()

    def on_unmount(self) -> None:
        self.buffer.set_wake(None)

    def _wake(self) -> None:
        # Runs on paho's thread; post_message is thread-safe.
        self.post_message(FeedWoke())

    def on_feed_woke(self, _: FeedWoke) -> None:
        # The wake stays spent until the next frame re-arms it: one wake per frame at most.
        self._apply(rearm=False)

    def _apply(self, rearm: bool) -> None:
        updates = self.buffer.drain(rearm)
        if updates:
            self.batches += 1
            self.fleet.apply_all(updates)

    # drawing -------------------------------------------------------------------------------

    def redraw(self) -> None:
        """Timer tick: redraw what changed since the last tick (ages change every second)."""
        self._apply(rearm=True)
        started = time.perf_counter()
        now = self.clock()
        self.fleet.expire()
        state = (self.fleet.version, int(now), self.filter_text, self.alerts_only)
        if state == self._drawn:
            return
        self._drawn = state
        alert_style = self.table.style_for("alert")
        self._draw_summary()
        self._draw_table(now)
        if self.fleet.latest_version != self._events_drawn:
            self._draw_events(alert_style)
        if isinstance(self.screen, KioskScreen):
            self.screen.show(self._view(self.screen.key), now, alert_style)
        self.redraw_times.append(time.perf_counter() - started)

    def _draw_summary(self) -> None:
        fleet = self.fleet
        t = self.t
        if fleet.connected is None:
            head = t("monitor.connecting", broker=self.broker)
        elif fleet.connected:
            head = t("monitor.connected", broker=self.broker)
        else:
            head = t("monitor.disconnected", broker=self.broker, detail=fleet.connection_detail)
        text = Text(head, style="" if fleet.connected else "bold red")
        text.append(t("monitor.summary", kiosks=t("monitor.kiosks", n=len(fleet.kiosks)),
                      offline=fleet.offline_count(),
                      alerts=t("monitor.alerts", n=fleet.alert_count()),
                      malformed=fleet.malformed))
        if self.buffer.dropped:
            text.append(t("monitor.dropped", dropped=self.buffer.dropped))
        if self.alerts_only:
            text.append(" · " + t("monitor.alerts_only"), style="bold")
        if self.filter_text:
            text.append(" · " + t("monitor.filter.on", text=self.filter_text), style="bold")
        self.summary.update(text, layout=False)

    def _draw_table(self, now: float) -> None:
        with_community = len(self.fleet.communities()) > 1
        rows = []
        for view in self.fleet.sorted_kiosks():
            if self.alerts_only and not view.alerts:
                continue
            label = kiosk_label(view, with_community)
            if not matches(view, label, self.filter_text):
                continue
            rows.append((f"{view.community}/{view.kiosk}", row_cells(self.t, view, label, now),
                         row_kind(view)))
        self.table.show(rows)

    def _draw_events(self, alert_style: Style) -> None:
        self._events_drawn = self.fleet.latest_version
        with_community = len(self.fleet.communities()) > 1
        text = Text()
        latest = self.fleet.latest
        for i in range(1, min(self.events_shown, len(latest)) + 1):
            event = latest[-i]
            label = f"{event.community}/{event.kiosk}" if with_community else event.kiosk
            if i > 1:
                text.append("\n")
            text.append(event_line(event, label, alert_style))
        self.events_panel.update(text, layout=False)
        self.events_panel.border_title = self.t("monitor.events.title",
                                                count=self.fleet.events_applied)

    def _view(self, key: str) -> KioskView | None:
        community, _, kiosk = key.partition("/")
        return self.fleet.kiosks.get((community, kiosk))

    # actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The list's keys do nothing while a kiosk's detail is shown.
        if action in {"filter", "alerts_only", "clear_filter"}:
            return not isinstance(self.screen, KioskScreen)
        return True

    def action_filter(self) -> None:
        self.filter_box.display = True
        self.filter_box.focus()

    def action_clear_filter(self) -> None:
        self.filter_box.value = ""
        self.filter_box.display = False
        self.filter_text = ""
        self.table.focus()
        self.redraw()

    def action_alerts_only(self) -> None:
        self.alerts_only = not self.alerts_only
        self.redraw()

    def action_detail(self) -> None:
        key = self.table.selected_key()
        if key is not None and not isinstance(self.screen, KioskScreen):
            screen = KioskScreen(key, self.t)
            self.push_screen(screen)
            self.call_after_refresh(self.redraw_detail)

    def redraw_detail(self) -> None:
        if isinstance(self.screen, KioskScreen):
            alert_style = self.table.style_for("alert")
            self.screen.show(self._view(self.screen.key), self.clock(), alert_style)

    def on_data_table_row_selected(self, _: DataTable.RowSelected) -> None:
        self.action_detail()

    def on_input_changed(self, message: Input.Changed) -> None:
        self.filter_text = message.value.strip()
        self.redraw()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.table.focus()

