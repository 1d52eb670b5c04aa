"""Spoken prompts (``[speech] enabled``): the screen's prompts in zh and en, rendered by
espeak-ng and played through ALSA (devices/speech.py). Off by default; the screen says
everything it speaks. A kiosk with speech on refuses to start without espeak-ng."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config import ConfigError
from kiosk.feature import Feature

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from kiosk.config import Config


def wanted(config: Config) -> bool:
    return config.speech.enabled


def build(kiosk: Kiosk) -> None:
    from devices.speech import Speaker, SpeechError

    settings = kiosk.config.speech
    speaker = Speaker(rate=settings.rate, volume=settings.volume, device=settings.device,
                      save_dir=Path(settings.save_dir) if settings.save_dir else None)
    try:
        speaker.check()
    except SpeechError as exc:
        raise ConfigError([f"{kiosk.config.source}: speech: {exc}"]) from exc
    kiosk.speech = speaker


def start(kiosk: Kiosk) -> None:
    if kiosk.speech is not None:
        kiosk.speech.start()


def stop(kiosk: Kiosk) -> None:
    if kiosk.speech is not None:
        kiosk.speech.close()


FEATURE = Feature("speech", build, start=start, stop=stop, wanted=wanted)
