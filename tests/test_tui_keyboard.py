"""The on-screen keyboard (tui/widgets/keyboard.py) on the demo composition: letters,
digits and symbols by taps only, the physical keyboard and a barcode scanner alike, keys
that keep their place across layers, and the language switching under a half-typed value.
"""

from __future__ import annotations

from tests.tui_setup import demo_kiosk, tap_text, type_text, until
from tui.widgets.entry import UNIT_CHARACTERS
from tui.widgets.keyboard import KeyboardScreen, TextBuffer, TextEntry

SIZE = (80, 24)


def test_the_buffer_keeps_to_its_alphabet_and_length():
    ids = TextBuffer(UNIT_CHARACTERS, 4, upper=True)
    assert [ids.add(c) for c in "w1!-"] == [True, True, False, True]
    assert ids.value == "W1-"
    assert ids.add("x") and not ids.add("y")  # full
    words = TextBuffer(None, 20, upper=False)
    for ch in " door  stuck":
        words.add(ch)
    assert words.value == "door stuck"  # no leading or doubled spaces
    # Control: a space in the middle is kept.
    assert " " in words.value


async def open_keyboard(pilot, **options) -> tuple[KeyboardScreen, list]:
    answers: list = []
    screen = KeyboardScreen("type it", **options)
    pilot.app.push_screen(screen, callback=answers.append)
    await until(pilot, lambda: pilot.app.screen is screen, what="keyboard up")
    await pilot.pause()
    return screen, answers


async def test_taps_a_keyboard_a_scanner_and_refusals_in_one_session(tmp_path):
    with demo_kiosk(tmp_path / "demo", "en") as demo:
        async with demo.app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: demo.app.ready)

            # Taps alone type letters, digits, symbols, spaces; ⌫ takes one back.
            screen, answers = await open_keyboard(pilot, allowed=None, upper=False)
            await tap_text(pilot, "#keyboard-entry", "Door A10 stuck-x⌫")
            assert screen.entry.value == "Door A10 stuck-"
            await pilot.click("#kb-ok")
            await until(pilot, lambda: answers == ["Door A10 stuck-"])

            # The keys keep their places when the layer changes.
            screen, _ = await open_keyboard(pilot, allowed=UNIT_CHARACTERS, max_len=20)
            entry = screen.entry
            before = {w.id: w.region for w in screen.query(".key")}
            letters = list(entry.query_one("Keyboard").characters)
            await pilot.click("#kb-layer-digits")
            await pilot.pause()
            assert {w.id: w.region for w in screen.query(".key")} == before
            # Control: the labels did change, so the comparison above could fail.
            assert entry.query_one("Keyboard").characters != letters
            # What the field refuses is shown, but cannot be typed.
            slash = entry.query_one("Keyboard").characters.index("/")
            assert screen.query_one(f"#kb-cell-{slash}").disabled
            await pilot.click(f"#kb-cell-{slash}")
            assert entry.value == ""
            await pilot.press("escape")

            # A tap first: it must not take the focus, or the scanner's Enter would
            # press the tapped key instead of OK.
            _, answers = await open_keyboard(pilot, allowed=UNIT_CHARACTERS, max_len=20)
            await tap_text(pilot, "#keyboard-entry", "S")
            assert demo.app.focused is None
            # The scanner types like a keyboard, then Enter.
            await type_text(pilot, "f12-77")
            await pilot.press("backspace", "7", "enter")
            await until(pilot, lambda: answers == ["SF12-77"])

            _, answers = await open_keyboard(pilot)
            await type_text(pilot, "AB")
            await pilot.press("escape")
            await until(pilot, lambda: answers == [None])

            # A refused value says why and stays.
            screen, answers = await open_keyboard(
                pilot, validate=lambda v: None if len(v) >= 3 else "three at least")
            await type_text(pilot, "AB")
            await pilot.press("enter")
            await pilot.pause()
            assert answers == [] and screen.entry.value == "AB"
            assert "three at least" in str(screen.query_one(".text-message").render())
            await type_text(pilot, "C")
            await pilot.press("enter")
            await until(pilot, lambda: answers == ["ABC"])


async def test_the_language_changes_the_labels_not_the_value(tmp_path):
    with demo_kiosk(tmp_path / "demo", "zh") as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            screen, answers = await open_keyboard(pilot, upper=False)
            await tap_text(pilot, "#keyboard-entry", "ab ")
            space = screen.query_one("#kb-space")
            assert str(space.label) == app.t("key.space")
            app.set_language("en")
            await until(pilot, lambda: str(screen.query_one("#kb-space").label) == "Space")
            assert screen.query_one(TextEntry).value == "ab "
            await tap_text(pilot, "#keyboard-entry", "c")
            await pilot.click("#kb-ok")
            await until(pilot, lambda: answers == ["ab c"])
