"""The ``[parking]`` section of the kiosk config, checked strictly like the rest."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from kiosk.config import Config, ConfigError, between, out_of_range, range_of, show


@dataclass(frozen=True)
class ParkingSettings:
    # A reservation nobody checked in for is released this long after its start.
    grace_minutes: int = field(default=15, metadata=between(1, 1440, "minutes"))
    # A freed spot offered to the next on the waitlist is held for them this long.
    offer_minutes: int = field(default=30, metadata=between(1, 1440, "minutes"))
    # Check-in is accepted from this long before the slot starts.
    early_checkin_minutes: int = field(default=30, metadata=between(1, 1440, "minutes"))
    # Longest short reservation (a moving day may need two days).
    max_reservation_hours: int = field(default=48, metadata=between(1, 744, "hours"))
    # Accessible spots nobody with a need asked for go to the standard pool for one round.
    lend_accessible: bool = True

    @classmethod
    def from_config(cls, config: Config) -> ParkingSettings:
        return cls.from_dict(config.parking, config.source)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "<config>") -> ParkingSettings:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        problems: list[str] = []
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in fields:
                problems.append(f"{source}: parking.{key}: unknown key "
                                f"(known: {', '.join(sorted(fields))})")
            elif key == "lend_accessible":
                if isinstance(value, bool):
                    values[key] = value
                else:
                    problems.append(f"{source}: parking.{key}: expected true or false, "
                                    f"got {value!r}")
            elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{source}: parking.{key}: expected a whole number of at "
                                f"least 1, got {show(value)}")
            elif (bounds := range_of(fields[key])) and (why := out_of_range(value, bounds)):
                problems.append(f"{source}: parking.{key}: {why}")
            else:
                values[key] = value
        if problems:
            raise ConfigError(problems)
        return cls(**values)
