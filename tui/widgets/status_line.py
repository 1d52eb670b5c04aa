"""The bottom line of every screen: the time and what concerns whoever looks at it.

Residents see the faults that change what they can do, in plain words ("door A10 is out of
order, please use another"), and nothing once they are resolved; the maintenance screen's
line (``maintainers=True``) also shows the uplink, the queue and every fault.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from kiosk.status import Fault, KioskStatus
from tui.kiosk_node import InKiosk
from tui.widgets.title_bar import two_ends


def fault_texts(t, faults: tuple[Fault, ...]) -> list[str]:
    """One phrase per kind of fault, naming every door or board it concerns."""
    subjects: dict[str, list[str]] = {}
    for fault in faults:
        subjects.setdefault(fault.kind, [])
        if fault.subject:
            subjects[fault.kind].append(fault.subject)
    texts = []
    for kind, names in subjects.items():
        which = " ".join(names)
        if kind == "cabinet.tamper":
            texts.append(t("fault.cabinet_tamper"))
        elif kind == "board.offline":
            texts.append(t("fault.board_offline", board=which))
        elif kind == "board.polarity_suspect":
            texts.append(t("fault.board_polarity", board=which))
        elif kind == "door.jammed":
            texts.append(t("fault.door_jammed", doors=which))
        elif kind == "door.left_open":
            texts.append(t("fault.door_left_open", doors=which))
        elif kind == "door.tamper":
            texts.append(t("fault.door_tamper", doors=which))
        elif kind == "sensor.mismatch":
            texts.append(t("fault.sensor_mismatch", doors=which))
        else:
            texts.append(t("fault.other", what=kind))
    return texts


def residents_texts(t, faults: tuple[Fault, ...]) -> list[str]:
    """The faults a resident is told about (``KioskStatus.residents_faults``), as what
    they mean to them: a door that will not open, a door to shut."""
    out_of_order = [f.subject for f in faults if f.kind == "door.jammed" and f.subject]
    left_open = [f.subject for f in faults
                 if f.kind in ("door.left_open", "door.tamper") and f.subject]
    texts = []
    if out_of_order:
        texts.append(t("public.door_out_of_order", doors=" ".join(out_of_order)))
    if left_open:
        texts.append(t("public.door_open", doors=" ".join(dict.fromkeys(left_open))))
    if any(f.kind == "board.offline" for f in faults):
        texts.append(t("public.board_offline"))
    return texts


class StatusLine(InKiosk, Widget):
    status: reactive[KioskStatus] = reactive(KioskStatus, always_update=True)

    def __init__(self, *, maintainers: bool = False):
        super().__init__()
        self.maintainers = maintainers

    def on_mount(self) -> None:
        self.status = self.app.status
        self.set_interval(1.0, self.refresh)

    def render(self) -> Text:
        t = self.app.t
        if not self.app.status_updates:
            # Before the first probe nothing is known yet: say so rather than guess.
            return Text(f"{self.app.clock().strftime('%H:%M')}  {t('status.checking')}")
        clock = self.app.clock().strftime("%H:%M")
        if self.maintainers:
            if self.status.uplink is None:
                uplink = t("status.uplink_none")
            elif self.status.uplink:
                uplink = t("status.uplink_up")
            else:
                uplink = t("status.uplink_down")
            left = "  ".join([clock, uplink, t("status.queued", n=self.status.backlog)])
            faults = "  ".join(fault_texts(t, self.status.faults))
        else:
            faults = "  ".join(residents_texts(t, self.status.residents_faults))
            # Checked and nothing wrong for them: say so, in as few words.
            left = clock if faults else f"{clock}  {t('status.all_well')}"
        if faults:
            faults = "⚠ " + faults
        width = self.content_region.width or self.size.width
        text = Text(two_ends(left, faults, width) if faults else left)
        if faults:
            text.stylize("bold", len(text.plain) - len(faults))
        return text
