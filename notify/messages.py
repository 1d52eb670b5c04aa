"""What a resident reads: each notification kind in Chinese and English.

Kept here (not in the screens' catalogues, tui/locale/): these texts go to phones and
onto printed slips, never onto the kiosk's screen. An unknown kind (a kiosk newer than
its notifier) still gets a text, with the code if it carries one.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.notifications import PARCEL_LEFT, PICKUP_CODE, REMINDER, RESEND, Note

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        PICKUP_CODE: (
            "Parcel waiting at kiosk {kiosk}",
            "Your pickup code: {code}\n"
            "{parcels} parcel(s) waiting at kiosk {kiosk}: the code opens {parcels} door(s). "
            "Type it or hold the QR code to the kiosk's scanner.\n"
            "Free, no fee, day and night."),
        REMINDER: (
            "Reminder: parcel still waiting at kiosk {kiosk}",
            "{parcels} parcel(s) still waiting at kiosk {kiosk}; {parcels} door(s) will open.\n"
            "Your new pickup code: {code}\n"
            "Free, no fee, however long it waits."),
        RESEND: (
            "Your new pickup code for kiosk {kiosk}",
            "You asked for a new code at kiosk {kiosk}.\n"
            "Your pickup code: {code}\n"
            "{parcels} parcel(s) waiting; {parcels} door(s) will open. Free, no fee."),
        PARCEL_LEFT: (
            "Your parcel has left kiosk {kiosk}",
            "The courier has taken your parcel from kiosk {kiosk}. It is on its way."),
    },
    "zh": {
        PICKUP_CODE: (
            "{kiosk} 快递柜有您的包裹",
            "取件码：{code}\n"
            "{kiosk} 快递柜有 {parcels} 件包裹，取件码可打开 {parcels} 个柜门。"
            "在柜机输入取件码，或将二维码对准扫码口。\n"
            "免费，不收任何费用，全天可取。"),
        REMINDER: (
            "提醒：{kiosk} 快递柜仍有您的包裹",
            "{kiosk} 快递柜仍有 {parcels} 件包裹，将打开 {parcels} 个柜门。\n"
            "新的取件码：{code}\n"
            "免费，不论存放多久都不收费。"),
        RESEND: (
            "{kiosk} 快递柜：您的新取件码",
            "您在 {kiosk} 柜机申请了新的取件码。\n"
            "取件码：{code}\n"
            "共 {parcels} 件包裹，将打开 {parcels} 个柜门。免费，不收任何费用。"),
        PARCEL_LEFT: (
            "您的包裹已从 {kiosk} 快递柜寄出",
            "快递员已从 {kiosk} 快递柜取走您寄出的包裹。"),
    },
}
OTHER = {
    "en": ("A message from kiosk {kiosk}", "A message from kiosk {kiosk}."),
    "zh": ("{kiosk} 快递柜的消息", "{kiosk} 快递柜的消息。"),
}
TEST = {
    "en": ("Test from the community notifier",
           "This channel works: pickup codes for household {household} will arrive here."),
    "zh": ("社区通知服务测试", "此渠道可用：{household} 户的取件码将发送到这里。"),
}
CODE_LINE = {"en": "\nCode: {code}", "zh": "\n取件码：{code}"}


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def render(note: Note, language: str) -> Message:
    words = TEXTS.get(language, TEXTS["en"])
    known = note.kind in words
    title, body = words[note.kind] if known else OTHER.get(language, OTHER["en"])
    values = {"kiosk": note.kiosk, "code": note.code or "", "parcels": note.parcels}
    text = body.format(**values)
    if not known and note.code:
        text += CODE_LINE.get(language, CODE_LINE["en"]).format(**values)
    return Message(title.format(**values), text)


def test_message(household: str, language: str) -> Message:
    title, body = TEST.get(language, TEST["en"])
    return Message(title, body.format(household=household))


def kind_of(title: str) -> str:
    """The kind a rendered title was made for ("" if none): the simulated phones of
    ``kiosk simulate`` act on reminders."""
    import re

    for words in TEXTS.values():
        for kind, (pattern, _) in words.items():
            regex = re.escape(pattern).replace(re.escape("{kiosk}"), ".+")
            if re.fullmatch(regex, title):
                return kind
    return ""
