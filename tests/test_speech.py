"""Spoken prompts: the real espeak-ng renders every prompt in both languages; the setting
is bounded and off by default; a kiosk with speech on says each step of a pickup (on the
demo composition: real driver on the pty simulator), its WAVs written to a folder
instead of played."""

from __future__ import annotations

import shutil

import pytest

from devices.speech import Speaker
from kiosk.config import ConfigError, SpeechConfig, config_from_dict
from tests.tui_setup import demo_kiosk, latest_code, type_text, type_unit, until
from tui.i18n import CATALOGUES, LANGUAGES, translate
from tui.screens.pickup import PickupScreen
from tui.screens.prompts import every_prompt


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
    assert sorted(texts) == sorted(t(k) for k in keys) and len(keys) >= 10
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


async def test_a_pickup_is_spoken_step_by_step(tmp_path):
    spoken = tmp_path / "spoken"
    spoken.mkdir()
    settings = SpeechConfig(enabled=True, save_dir=str(spoken))
    with demo_kiosk(tmp_path / "demo", "zh", speech=settings) as demo:
        app = demo.app
        assert isinstance(demo.kiosk.speech, Speaker)
        code = latest_code(demo, "101")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            await until(pilot, lambda: demo.kiosk.speech.spoken >= 1, what="the prompt")
            await type_unit(pilot, "101")
            await type_text(pilot, code)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.result is not None)
            await until(pilot, lambda: demo.kiosk.speech.spoken >= 2, what="doors open")
            for door in app.screen.result.opened:
                demo.sim.shut(door.board, door.lock)
            await until(pilot, lambda: demo.kiosk.speech.spoken >= 3, what="done")
    files = sorted(p.name for p in spoken.iterdir())
    assert files[:3] == ["prompt-00001-zh.wav", "prompt-00002-zh.wav",
                         "prompt-00003-zh.wav"]
    assert all(is_wav((spoken / f).read_bytes()) for f in files)
