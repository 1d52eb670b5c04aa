"""The parking screens' words: spot types, times and slots, and why a request was refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich.cells import cell_len
from rich.console import Group
from rich.text import Text

from kiosk.parking.desk import Refused
from tui.refusals import Translate, refusal_text


def type_name(t: Translate, spot_type: str) -> str:
    return {"standard": t("parking.type_standard"), "accessible": t("parking.type_accessible"),
            "ev": t("parking.type_ev"), "motorcycle": t("parking.type_motorcycle"),
            "loading": t("parking.type_loading")}.get(spot_type, spot_type)


def kind_name(t: Translate, kind: str) -> str:
    return {"visitor": t("parking.kind_visitor"),
            "moving": t("parking.kind_moving")}.get(kind, kind)


def status_name(t: Translate, status: str) -> str:
    return {"booked": t("parking.status_booked"), "checked_in": t("parking.status_checked_in"),
            "held": t("parking.status_held"), "completed": t("parking.status_completed"),
            "no_show": t("parking.status_no_show"), "cancelled": t("parking.status_cancelled"),
            "lapsed": t("parking.status_lapsed")}.get(status, status)


def round_state(t: Translate, status: str) -> str:
    return {"open": t("parking.round_open"), "closed": t("parking.round_closed"),
            "committed": t("parking.round_committed"),
            "drawn": t("parking.round_drawn")}.get(status, status)


def action_label(t: Translate, action: str) -> str:
    return {"request": t("parking.act_request"), "withdraw": t("parking.act_withdraw"),
            "release": t("parking.act_release"), "reserve": t("parking.act_reserve"),
            "checkin": t("parking.act_checkin"), "cancel": t("parking.act_cancel"),
            "accept": t("parking.act_accept"), "decline": t("parking.act_decline"),
            "gate": t("parking.act_gate"), "logout": t("parking.act_logout"),
            "leave": t("parking.act_leave")}[action]


def when(t: Translate, ts: datetime, now: datetime) -> str:
    """A time as a person at the kiosk reads it: today / tomorrow / a date, local time."""
    local, today = ts.astimezone(), now.astimezone().date()
    hm = local.strftime("%H:%M")
    if local.date() == today:
        return t("parking.today_at", hm=hm)
    if local.date() == today + timedelta(days=1):
        return t("parking.tomorrow_at", hm=hm)
    return t("parking.date_at", month=f"{local.month:02d}", day=f"{local.day:02d}", hm=hm)


def hour_or_when(t: Translate, ts: datetime, now: datetime) -> str:
    """Just the time when it is today: lines stay short."""
    if ts.astimezone().date() == now.astimezone().date():
        return ts.astimezone().strftime("%H:%M")
    return when(t, ts, now)


def span(t: Translate, start: datetime, end: datetime, now: datetime) -> str:
    """A slot: the end alone when it is the same day as the start."""
    if start.astimezone().date() == end.astimezone().date():
        return f"{when(t, start, now)}–{end.astimezone().strftime('%H:%M')}"
    return f"{when(t, start, now)} – {when(t, end, now)}"


def why(t: Translate, refusal: Refused, now: datetime) -> str:
    """Why the desk said no, in the parking screens' words."""
    at = getattr(refusal, "at", None)
    round_id = getattr(refusal, "round_id", "")
    words = {
        "wrong_login": t("parking.login_wrong"),
        "blocked": t("parking.login_blocked"),
        "round_busy": t("parking.round_busy", round=round_id),
        "need": t("parking.why_need"),
        "no_request": t("parking.why_no_request"),
        "not_held": t("parking.why_not_held"),
        "slot_over": t("parking.why_slot_over"),
        "too_long": t("parking.why_too_long"),
        "overlap": t("parking.why_overlap"),
        "no_offer": t("parking.why_no_offer"),
        "gate": t("parking.why_gate"),
    }
    if at is not None:  # without a time to name, the general words
        words["check_in_later"] = t("parking.why_check_in_later", time=when(t, at, now))
    other = t("parking.why_other", detail=getattr(refusal, "detail", "") or refusal.reason)
    return refusal_text(t, refusal, words, other, round=round_id,
                        time=when(t, at, now) if at is not None else "")


def labelled(rows: list[tuple[str, str]], indent: int = 1) -> list[str]:
    """Label and value lines with the values lined up (wide characters count twice)."""
    width = max((cell_len(label) for label, _ in rows), default=0)
    return [" " * indent + label + " " * (width - cell_len(label) + 1) + value
            for label, value in rows]


def stack(parts: list[Any]) -> Group:
    """Lines of text and rich renderables, one under the other."""
    return Group(*(Text(p) if isinstance(p, str) else p for p in parts))
