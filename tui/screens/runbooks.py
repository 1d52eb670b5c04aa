"""The maintenance screen's words: each fault's title and runbook, the common reasons
offered for each action, and the core's fixed phrases in both languages.

Every catalogue key is spelled out here rather than built from pieces, so the catalogue
test sees each one in use. ``t`` is the app's translate function. A runbook's text is a
Markdown file per fault and language (tui/runbooks/<language>/<fault>.md), which
tui/i18n.py reads into the keys ``runbook.<fault>.title``, ``.check`` and ``.fix``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.lockers.model import compartment_label
from kiosk.maintenance import Mismatch
from kiosk.maintenance_view import Action, FaultView
from tui.widgets.size_chooser import size_name

Translate = Callable[..., str]


@dataclass(frozen=True)
class Runbook:
    title: str
    check: str  # what to check, numbered
    fix: str  # how to fix it


def board_letter(board: int) -> str:
    return compartment_label(board, 1)[0]


def runbook(t: Translate, fault: FaultView) -> Runbook:
    """What to check and how to fix one fault, so the skill is everyone's."""
    d = fault.details
    door = str(d.get("compartment", ""))
    kind = fault.kind
    if kind == "board.offline":
        return Runbook(t("runbook.board_offline.title", board=board_letter(int(d["board"]))),
                       t("runbook.board_offline.check"), t("runbook.board_offline.fix"))
    if kind == "board.polarity_suspect":
        return Runbook(t("runbook.board_polarity_suspect.title",
                         board=board_letter(int(d["board"]))),
                       t("runbook.board_polarity_suspect.check"),
                       t("runbook.board_polarity_suspect.fix"))
    if kind == "door.jammed":
        return Runbook(t("runbook.door_jammed.title", door=door),
                       t("runbook.door_jammed.check"), t("runbook.door_jammed.fix"))
    if kind == "door.left_open":
        return Runbook(t("runbook.door_left_open.title", door=door),
                       t("runbook.door_left_open.check"), t("runbook.door_left_open.fix"))
    if kind == "door.tamper":
        return Runbook(t("runbook.door_tamper.title", door=door),
                       t("runbook.door_tamper.check"), t("runbook.door_tamper.fix"))
    if kind == "cabinet.tamper":
        return Runbook(t("runbook.cabinet_tamper.title"),
                       t("runbook.cabinet_tamper.check"), t("runbook.cabinet_tamper.fix"))
    if kind == "sensor.mismatch":
        return Runbook(t("runbook.sensor_mismatch.title", door=door),
                       t("runbook.sensor_mismatch.check"), t("runbook.sensor_mismatch.fix"))
    if kind == "parcel.in_review":
        return Runbook(t("runbook.parcel_in_review.title", parcel=d.get("parcel", ""),
                         door=door),
                       t("runbook.parcel_in_review.check"), t("runbook.parcel_in_review.fix"))
    if kind == "uplink.down":
        return Runbook(t("runbook.uplink_down.title"),
                       t("runbook.uplink_down.check"), t("runbook.uplink_down.fix"))
    if kind == "uplink.backlog":
        return Runbook(t("runbook.uplink_backlog.title", n=d.get("backlog", "")),
                       t("runbook.uplink_backlog.check"), t("runbook.uplink_backlog.fix"))
    if kind == "notify.undelivered":
        return Runbook(t("runbook.notify_undelivered.title", n=d.get("n", "")),
                       t("runbook.notify_undelivered.check"),
                       t("runbook.notify_undelivered.fix"))
    if kind == "locker.full":
        return Runbook(t("runbook.locker_full.title", size=size_name(t, str(d["size"]))),
                       t("runbook.locker_full.check"), t("runbook.locker_full.fix"))
    if kind == "kiosk.disk_full":
        return Runbook(t("runbook.kiosk_disk_full.title"), t("runbook.kiosk_disk_full.check"),
                       t("runbook.kiosk_disk_full.fix"))
    if kind == "kiosk.worker_failed":
        return Runbook(t("runbook.kiosk_worker_failed.title", where=d.get("where", "")),
                       t("runbook.kiosk_worker_failed.check"),
                       t("runbook.kiosk_worker_failed.fix"))
    return Runbook(t("runbook.other.title", kind=kind, subject=fault.subject),
                   t("runbook.other.check"), t("runbook.other.fix"))


# --- parcels ------------------------------------------------------------------------------


def parcel_name(t: Translate, state: str | None) -> str:
    if state is None:
        return t("comp.no_parcel")
    names = {"deposit_pending": t("parcel.deposit_pending"), "stored": t("parcel.stored"),
             "outgoing": t("parcel.outgoing"), "pickup_pending": t("parcel.pickup_pending"),
             "in_review": t("parcel.in_review")}
    return names.get(state, state)


def note_text(t: Translate, note: str | None) -> str:
    """Why the kiosk put a parcel in review: the core's fixed phrases, translated."""
    if not note:
        return ""
    known = {
        "board did not answer at start-up": t("note.board_at_start"),
        "door open after restart": t("note.open_after_restart"),
        "deposit interrupted; no occupancy sensor": t("note.deposit_no_sensor"),
        "door open with the parcel inside after restart": t("note.open_with_parcel"),
        "pickup interrupted; no occupancy sensor": t("note.pickup_no_sensor"),
    }
    return known.get(note, note)


def mismatch_text(t: Translate, m: Mismatch) -> str:
    if m.problem == "item in a free compartment":
        return t("reconcile.item_in_free", door=m.compartment)
    if m.problem == "parcel missing":
        return t("reconcile.parcel_missing", door=m.compartment)
    if m.problem.startswith("board ") and "did not answer" in m.problem:
        return t("reconcile.board_silent", door=m.compartment)
    return t("reconcile.other", door=m.compartment, problem=m.problem)


# --- devices ------------------------------------------------------------------------------


def gpio_text(t: Translate, name: str, state: str) -> str:
    if name.startswith("spot:"):
        label = t("gpio.spot", spot=name.removeprefix("spot:"))
    else:
        label = {"tamper": t("gpio.tamper"), "motion": t("gpio.motion"),
                 "buzzer": t("gpio.buzzer"), "led_ok": t("gpio.led_ok"),
                 "led_fault": t("gpio.led_fault"), "barrier": t("gpio.barrier")}.get(name, name)
    word = {"open": t("gpio.open"), "closed": t("gpio.closed"), "active": t("gpio.active"),
            "idle": t("gpio.idle"), "on": t("gpio.on"), "off": t("gpio.off"),
            "raised": t("gpio.raised"), "lowered": t("gpio.lowered"),
            "occupied": t("gpio.occupied"), "free": t("gpio.free")}.get(state, state)
    return f"{label} {word}"


def spot_type_name(t: Translate, spot_type: str) -> str:
    return {"standard": t("maintenance.spot_standard"),
            "accessible": t("maintenance.spot_accessible"), "ev": t("maintenance.spot_ev"),
            "motorcycle": t("maintenance.spot_motorcycle"),
            "loading": t("maintenance.spot_loading")}.get(spot_type, spot_type)


def spot_state_name(t: Translate, state: str) -> str:
    return {"in_service": t("maintenance.spot_in_service"),
            "out_of_service": t("maintenance.spot_out_of_service")}.get(state, state)


# --- actions ------------------------------------------------------------------------------


def outcome_name(t: Translate, outcome: str) -> str:
    return {"stored": t("review.stored"), "collected": t("review.collected"),
            "returned": t("review.returned"), "cancelled": t("review.cancelled")}[outcome]


def action_text(t: Translate, action: Action) -> str:
    """What the maintainer is about to do, in words, above the reason they give."""
    s = action.subject
    k = action.kind
    if k == "force_door":
        return t("action.force_door", subject=s)
    if k == "out_of_service":
        return t("action.out_of_service", subject=s)
    if k == "in_service":
        return t("action.in_service", subject=s)
    if k == "clear_fault":
        return t("action.clear_fault", subject=s)
    if k == "resolve_review":
        return t("action.resolve_review", subject=s, outcome=outcome_name(t, action.outcome))
    if k == "reconcile":
        return t("action.reconcile")
    if k == "spot_out":
        return t("action.spot_out", subject=s)
    if k == "spot_in":
        return t("action.spot_in", subject=s)
    return t("action.handover", subject=s)


def done_text(t: Translate, action: Action) -> str:
    """What was done (a reconcile shows its findings instead)."""
    s = action.subject
    k = action.kind
    if k == "force_door":
        return t("done.force_door", subject=s)
    if k == "out_of_service":
        return t("done.out_of_service", subject=s)
    if k == "in_service":
        return t("done.in_service", subject=s)
    if k == "clear_fault":
        return t("done.clear_fault", subject=s)
    if k == "resolve_review":
        return t("done.resolve_review", subject=s)
    if k == "spot_out":
        return t("done.spot_out", subject=s)
    if k == "spot_in":
        return t("done.spot_in", subject=s)
    return t("done.handover", subject=s)


def common_reasons(t: Translate, kind: str) -> list[str]:
    """Reasons that come up again and again, one tap each; anything else can be typed."""
    if kind == "force_door":
        return [t("reason.door_jammed"), t("reason.door_repair"), t("reason.door_clean"),
                t("reason.door_review")]
    if kind in ("out_of_service", "in_service"):
        return [t("reason.service_broken"), t("reason.service_damage"),
                t("reason.service_sensor"), t("reason.service_fixed")]
    if kind == "clear_fault":
        return [t("reason.fault_fixed"), t("reason.fault_tested")]
    if kind == "resolve_review":
        return [t("reason.review_seen"), t("reason.review_household"),
                t("reason.review_courier")]
    if kind == "reconcile":
        return [t("reason.reconcile_routine"), t("reason.reconcile_restart"),
                t("reason.reconcile_alarm")]
    if kind in ("spot_out", "spot_in"):
        return [t("reason.spot_works"), t("reason.spot_damage"), t("reason.spot_event"),
                t("reason.spot_fixed")]
    return [t("reason.handover_away"), t("reason.handover_swap"), t("reason.handover_ill")]
