"""What an on-duty maintainer may do at the kiosk; every action audited and published."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.feature import Feature
from kiosk.maintenance import Maintenance

if TYPE_CHECKING:
    from kiosk.composition import Kiosk


def build(kiosk: Kiosk) -> None:
    kiosk.maintenance = Maintenance(kiosk.lockers, kiosk.audit)


FEATURE = Feature("maintenance", build)
