"""Spoken prompts: the real espeak-ng renders every prompt in both languages; the setting
is bounded and off by default; a kiosk with speech on says each step of a pickup (on the
demo composition: real driver on the pty simulator), its WAVs written to a folder
instead of played. What was said is told by the WAV itself: espeak-ng renders a text the
same way each time, so a prompt's WAV is compared with the text rendered afresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devices.speech import Speaker
from kiosk.config import ConfigError, SpeechConfig, config_from_dict
from kiosk.setups.demo import household_pin
from tests.tui_setup import (
    courier_id_typed,
    demo_kiosk,
    latest_code,
    pick_maintainer,
    type_text,
    type_unit,
    until,
)
from tui.i18n import CATALOGUES, LANGUAGES, translate
from tui.screens.collect import CollectScreen
from tui.screens.deposit import DepositScreen
from tui.screens.maintenance import MaintenanceScreen
from tui.screens.maintenance.practice import PracticeScreen
from tui.screens.needs import NeedsScreen
from tui.screens.parking import ParkingScreen
from tui.screens.pickup import PickupScreen
from tui.screens.prompts import SAMPLE, every_prompt
from tui.screens.send import SendScreen


def test_espeak_is_installed():
    # .ci/run installs it; a machine without it fails here, by name, not later.
    assert shutil.which("espeak-ng"), "apt-get install espeak-ng"


def is_wav(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 2000


@pytest.mark.parametrize("language", LANGUAGES)
def test_espeak_renders_every_prompt_in_both_languages(tmp_path, language):
    def t(key: str, **values: object) -> str:
        return translate(language, key, **values)

    texts = every_prompt(t)
    keys = [k for k in CATALOGUES[language] if k.startswith("speech.")]
    # Every prompt key of the catalogue is one the kiosk says, so all are rendered here.
    assert sorted(texts) == sorted(t(k, **SAMPLE) for k in keys) and len(keys) >= 30
    speaker = Speaker(save_dir=tmp_path)
    for i, text in enumerate(texts):
        path = speaker.render(text, language, tmp_path / f"{i}.wav")
        assert is_wav(path.read_bytes()), text
    # Control: what is no WAV is told apart.
    assert not is_wav(b"RIFF" + b"\0" * 4000)


def test_the_speech_setting_is_off_by_default_and_bounded():
    assert config_from_dict({}).speech == SpeechConfig()
    assert not SpeechConfig().enabled
    ok = config_from_dict({"speech": {"enabled": True, "device": "plughw:1,0", "rate": 180}})
    assert ok.speech.device == "plughw:1,0" and ok.speech.rate == 180
    with pytest.raises(ConfigError) as bad:
        config_from_dict({"speech": {"rate": 5000, "volume": -1, "device": "-D x; rm",
                                     "loud": True}})
    text = str(bad.value)
    assert "speech.rate: must be 80-400" in text and "speech.volume" in text
    assert "speech.device" in text and "speech.loud: unknown key" in text


def test_a_kiosk_with_speech_on_refuses_to_start_without_espeak(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed here
    with pytest.raises(ConfigError) as refused:
        demo_kiosk(tmp_path / "demo", speech=SpeechConfig(enabled=True))
    assert "espeak-ng" in str(refused.value)


class Heard:
    """What a kiosk said, read back from the WAVs it saved (``save_dir``), told apart by
    rendering the expected words afresh with the same settings: espeak-ng renders a text
    to the same bytes each time."""

    def __init__(self, folder: Path, language: str, scratch: Path):
        self.folder = folder
        self.language = language
        self.scratch = scratch
        scratch.mkdir(exist_ok=True)
        settings = SpeechConfig()
        self.speaker = Speaker(rate=settings.rate, volume=settings.volume, save_dir=scratch)

    def wav(self, n: int) -> bytes:
        return (self.folder / f"prompt-{n:05d}-{self.language}.wav").read_bytes()

    def rendered(self, key: str, **values: object) -> bytes:
        text = translate(self.language, key, **values)
        path = self.scratch / f"{len(list(self.scratch.iterdir()))}.wav"
        return self.speaker.render(text, self.language, path).read_bytes()

    def said(self, n: int, key: str, **values: object) -> bool:
        return self.wav(n) == self.rendered(key, **values)


def speaking(tmp_path: Path) -> tuple[SpeechConfig, Path]:
    spoken = tmp_path / "spoken"
    spoken.mkdir()
    return SpeechConfig(enabled=True, save_dir=str(spoken)), spoken


async def said_so_far(pilot, demo, n: int, what: str) -> None:
    """Wait until the kiosk has said ``n`` prompts (each step waits for its own, so none is
    cut short by the next)."""
    await until(pilot, lambda: demo.kiosk.speech.spoken >= n, what=what)


async def test_a_pickup_is_spoken_step_by_step(tmp_path):
    settings, spoken = speaking(tmp_path)
    with demo_kiosk(tmp_path / "demo", "zh", speech=settings) as demo:
        app = demo.app
        assert isinstance(demo.kiosk.speech, Speaker)
        code = latest_code(demo, "101")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            await said_so_far(pilot, demo, 1, "the prompt")
            await type_unit(pilot, "101")
            await said_so_far(pilot, demo, 2, "the code step")
            await type_text(pilot, code)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.result is not None)
            await said_so_far(pilot, demo, 3, "doors open")
            door, *others = app.screen.result.opened
            for other in others:
                demo.sim.take_item(other.board, other.lock)
                demo.sim.shut(other.board, other.lock)
            demo.sim.shut(door.board, door.lock)  # its parcel left inside
            await said_so_far(pilot, demo, 4, "left inside")
            await pilot.click("#pickup-again")
            await said_so_far(pilot, demo, 5, "the door open again")
            demo.sim.take_item(door.board, door.lock)
            demo.sim.shut(door.board, door.lock)
            await said_so_far(pilot, demo, 6, "done")
    files = sorted(p.name for p in spoken.iterdir())
    assert files == [f"prompt-0000{n}-zh.wav" for n in range(1, 7)]
    assert all(is_wav((spoken / f).read_bytes()) for f in files)
    heard = Heard(spoken, "zh", tmp_path / "scratch")
    steps = ["speech.pickup", "speech.pickup_code", "speech.pickup_doors_open",
             "speech.left_inside", "speech.pickup_doors_open", "speech.pickup_done"]
    assert [heard.said(n, key) for n, key in enumerate(steps, 1)] == [True] * len(steps)


async def test_a_wrong_code_and_the_wait_after_too_many_are_spoken(tmp_path):
    settings, spoken = speaking(tmp_path)
    with demo_kiosk(tmp_path / "demo", "zh", speech=settings) as demo:
        app = demo.app
        code = latest_code(demo, "101")
        wrong = ("A" if code[0] != "A" else "B") + code[1:]
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            await said_so_far(pilot, demo, 1, "the prompt")
            await type_unit(pilot, "101")
            await said_so_far(pilot, demo, 2, "the code step")
            # The third wrong code in a row earns a wait (free_attempts 3, 5 s at first).
            for n in (3, 4, 5):
                await type_text(pilot, wrong)
                await pilot.press("enter")
                await said_so_far(pilot, demo, n, f"wrong code {n - 2}")
            await said_so_far(pilot, demo, 6, "the wait over")
    heard = Heard(spoken, "zh", tmp_path / "scratch")
    assert translate("zh", "speech.wrong_code") == "取件码不正确，请再试一次。"
    assert heard.said(3, "speech.wrong_code") and heard.said(4, "speech.wrong_code")
    assert heard.said(5, "speech.wait", s=5)
    assert heard.said(6, "speech.try_again")
    # Controls: the comparison tells prompts apart, even two waits a second apart.
    assert not heard.said(3, "speech.wrong_pin")
    assert not heard.said(2, "speech.wrong_code")
    assert not heard.said(5, "speech.wait", s=6)


async def deposit_pin(pilot) -> None:
    await pilot.press("2")
    await until(pilot, lambda: isinstance(pilot.app.screen, DepositScreen))
    await courier_id_typed(pilot)


async def send_pin(pilot) -> None:
    await pilot.press("3")
    await until(pilot, lambda: isinstance(pilot.app.screen, SendScreen))
    await type_text(pilot, "204")
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen.pane == "send-pin-pane")


async def parking_pin(pilot) -> None:
    await pilot.press("4")
    await until(pilot, lambda: isinstance(pilot.app.screen, ParkingScreen))
    await until(pilot, lambda: pilot.app.screen.pane == "park-menu")
    await pilot.click("#park-login")
    await until(pilot, lambda: pilot.app.screen.pane == "park-unit")
    await type_text(pilot, "101")
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen.pane == "park-pin")


async def lost_code_pin(pilot) -> None:
    await pilot.press("1")
    await until(pilot, lambda: isinstance(pilot.app.screen, PickupScreen))
    await type_text(pilot, "101")
    await pilot.click("#pickup-lost")
    await until(pilot, lambda: pilot.app.screen.pane == "pickup-lost-pane")
    await pilot.click("#pickup-with-pin")
    await until(pilot, lambda: pilot.app.screen.pane == "pickup-pin")


async def maintainer_pin(pilot) -> None:
    await pilot.press("5")
    await until(pilot, lambda: isinstance(pilot.app.screen, MaintenanceScreen))
    await pick_maintainer(pilot, "v-amber")


async def needs_pin(pilot) -> None:
    await pilot.press("8")
    await until(pilot, lambda: isinstance(pilot.app.screen, NeedsScreen))
    needs = pilot.app.screen
    await until(pilot, lambda: needs.query("#needs-list .pick-line"), what="the needs")
    await pilot.click("#needs-raise")
    await until(pilot, lambda: needs.pane == "needs-unit-pane")
    await type_text(pilot, "101")
    await pilot.press("enter")
    await until(pilot, lambda: needs.pane == "needs-pin-pane")


async def practice_pin(pilot) -> None:
    await pilot.press("5")
    await until(pilot, lambda: isinstance(pilot.app.screen, MaintenanceScreen))
    await pilot.click("#pin-practice")
    await until(pilot, lambda: isinstance(pilot.app.screen, PracticeScreen))
    practice = pilot.app.screen
    await type_text(pilot, "101")
    await pilot.press("enter")
    await until(pilot, lambda: practice.pane == "practice-pin-pane")


# Each login to its PIN pane, and the prompts said on the way there (before the PIN).
PIN_JOURNEYS = {
    "courier": (deposit_pin, ["speech.deposit", "speech.courier_pin"]),
    "household": (send_pin, ["speech.send", "speech.household_pin"]),
    "member": (parking_pin, ["speech.parking", "speech.parking_unit",
                             "speech.household_pin"]),
    "lost-code": (lost_code_pin, ["speech.pickup", "speech.lost", "speech.household_pin"]),
    "maintainer": (maintainer_pin, ["speech.maintenance"]),
    "needs": (needs_pin, []),
    "practice": (practice_pin, ["speech.maintenance"]),
}


@pytest.mark.parametrize("who", sorted(PIN_JOURNEYS))
async def test_a_wrong_pin_is_spoken(tmp_path, who):
    reach, steps = PIN_JOURNEYS[who]
    settings, spoken = speaking(tmp_path)
    with demo_kiosk(tmp_path / "demo", "en", speech=settings) as demo:
        app = demo.app
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.ready)
            await reach(pilot)
            await said_so_far(pilot, demo, len(steps), "the steps to the PIN")
            await type_text(pilot, "99999999")
            await pilot.press("enter")
            await said_so_far(pilot, demo, len(steps) + 1, "the wrong PIN")
    heard = Heard(spoken, "en", tmp_path / "scratch")
    assert [heard.said(n, key) for n, key in enumerate(steps, 1)] == [True] * len(steps)
    assert heard.said(len(steps) + 1, "speech.wrong_pin")
    # Controls: the step before it was no refusal, and another refusal's words differ.
    assert not steps or not heard.said(len(steps), "speech.wrong_pin")
    assert not heard.said(len(steps) + 1, "speech.wrong_code")


async def send_logged_in(pilot, demo, said: int) -> SendScreen:
    """Unit 204 logs in to send, by keys, each step's prompt waited for (``said`` before)."""
    await pilot.press("3")
    await until(pilot, lambda: isinstance(pilot.app.screen, SendScreen))
    send = pilot.app.screen
    await said_so_far(pilot, demo, said + 1, "send")
    await type_text(pilot, "204")
    await pilot.press("enter")
    await said_so_far(pilot, demo, said + 2, "the household PIN")
    await type_text(pilot, household_pin("204"))
    await pilot.press("enter")
    await said_so_far(pilot, demo, said + 3, "where it goes")
    return send


async def send_one(pilot, demo, said: int) -> int:
    """A resident sends a parcel (unit 204), by keys, each step's prompt waited for; the
    prompts said so far after it."""
    app = pilot.app
    send = await send_logged_in(pilot, demo, said)
    await pilot.click("#send-destination")
    await until(pilot, lambda: app.screen is not send)
    await type_text(pilot, "hall")
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is send and send.destination == "hall")
    await pilot.click("#send-continue")
    await said_so_far(pilot, demo, said + 4, "the size")
    await pilot.press("s")
    await said_so_far(pilot, demo, said + 5, "the door open")
    c = send.slot.compartment
    demo.sim.put_item(c.board, c.lock)
    demo.sim.shut(c.board, c.lock)
    await said_so_far(pilot, demo, said + 6, "the door shut")
    await until(pilot, lambda: send.pane == "send-done-pane")
    await pilot.press("escape")
    await until(pilot, lambda: len(app.screen_stack) == 1, what="home")
    return said + 6


SENT = ["speech.send", "speech.household_pin", "speech.send_what", "speech.size",
        "speech.send_door_open", "speech.door_shut"]


async def test_a_send_a_couriers_round_and_collection_are_spoken(tmp_path):
    settings, spoken = speaking(tmp_path)
    with demo_kiosk(tmp_path / "demo", "en", speech=settings) as demo:
        app = demo.app
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.ready)
            said = await send_one(pilot, demo, 0)

            await pilot.press("2")
            await until(pilot, lambda: isinstance(app.screen, DepositScreen))
            deposit = app.screen
            await said_so_far(pilot, demo, said + 1, "deposit")
            await courier_id_typed(pilot)
            await said_so_far(pilot, demo, said + 2, "the courier PIN")
            await type_text(pilot, "24682468")
            await pilot.press("enter")
            await said_so_far(pilot, demo, said + 3, "the unit")
            await type_text(pilot, "101")
            await pilot.press("enter")
            await said_so_far(pilot, demo, said + 4, "the size")
            await pilot.press("s")
            await said_so_far(pilot, demo, said + 5, "the door open")
            c = deposit.slot.compartment
            demo.sim.put_item(c.board, c.lock)
            demo.sim.shut(c.board, c.lock)
            await said_so_far(pilot, demo, said + 6, "the door shut")
            await until(pilot, lambda: deposit.pane == "unit-pane" and deposit.held)

            # The parcel just sent waits for the courier.
            await pilot.click("#deposit-collect")
            await until(pilot, lambda: isinstance(app.screen, CollectScreen))
            collect = app.screen
            await said_so_far(pilot, demo, said + 7, "the list")
            await pilot.click("#collect-open")
            await said_so_far(pilot, demo, said + 8, "the doors open")
            for door in collect.result.opened:
                demo.sim.shut(door.board, door.lock)  # not taken out
            await said_so_far(pilot, demo, said + 9, "left inside")
            await pilot.click("#collect-again")
            await said_so_far(pilot, demo, said + 10, "the door open again")
            for door in collect.result.opened:
                demo.sim.take_item(door.board, door.lock)
                demo.sim.shut(door.board, door.lock)
            await said_so_far(pilot, demo, said + 11, "done")
            await pilot.click("#collect-done")
            await until(pilot, lambda: app.screen is deposit)
            await pilot.click("#deposit-finish")
            await said_so_far(pilot, demo, said + 12, "the round's end")
            total = demo.kiosk.speech.spoken
    heard = Heard(spoken, "en", tmp_path / "scratch")
    steps = [*SENT, "speech.deposit", "speech.courier_pin", "speech.deposit_unit",
                    "speech.size", "speech.deposit_door_open", "speech.door_shut",
                    "speech.collect", "speech.collect_doors_open", "speech.left_inside",
                    "speech.collect_doors_open", "speech.collect_done", "speech.round_done"]
    assert [(n, heard.said(n, key)) for n, key in enumerate(steps, 1)] == [
        (n, True) for n in range(1, len(steps) + 1)]
    # Nothing more: the doors shutting on the collection said nothing of their own (the
    # sensor's answer, left inside or done, is what is said).
    assert total == len(steps)


async def test_a_sent_parcel_taken_back_is_spoken_as_taken_back(tmp_path):
    settings, spoken = speaking(tmp_path)
    with demo_kiosk(tmp_path / "demo", "en", speech=settings) as demo:
        app = demo.app
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.ready)
            said = await send_one(pilot, demo, 0)
            send = await send_logged_in(pilot, demo, said)
            await pilot.click("#send-mine")
            await until(pilot, lambda: send.query(".take-back"), what="my sent parcels")
            await pilot.click(".take-back")
            await said_so_far(pilot, demo, said + 4, "its door open")
            door = send.taking_back.opened[0]
            demo.sim.take_item(door.board, door.lock)
            demo.sim.shut(door.board, door.lock)
            await said_so_far(pilot, demo, said + 5, "taken back")
    heard = Heard(spoken, "en", tmp_path / "scratch")
    steps = [*SENT, "speech.send", "speech.household_pin", "speech.send_what",
                    "speech.take_back_door_open", "speech.taken_back"]
    assert [(n, heard.said(n, key)) for n, key in enumerate(steps, 1)] == [
        (n, True) for n in range(1, len(steps) + 1)]
    # Control: a sent parcel's door is not a door to put one in.
    assert not heard.said(len(SENT) + 4, "speech.send_door_open")
