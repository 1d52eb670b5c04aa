"""The configuration the kiosk starts with is public: a config file that changed since
the last start is recorded as an audited change (``kiosk run``; the demo and the
simulation have no file)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.feature import Feature

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from kiosk.config import Config


def wanted(config: Config) -> bool:
    return Path(config.source).is_file()


def build(kiosk: Kiosk) -> None:
    return None


def start(kiosk: Kiosk) -> None:
    from kiosk.admin import Admin

    source = Path(kiosk.config.source)
    Admin(kiosk.lockers, kiosk.audit).record_config(source.read_text(encoding="utf-8"),
                                                    source.name)


FEATURE = Feature("config_record", build, start=start, wanted=wanted)
