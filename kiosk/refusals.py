"""One family for every "no" the kiosk says to a person: a reason code and its details.

A domain service refuses by raising a ``Refusal`` (or a subclass naming its area). Nothing
was changed when one is raised. ``reason`` is a short, stable code (``wrong_code``,
``no_free_compartment``, ``round_busy``, …); ``details`` carry what the words need
(``wait_s``, ``size``, ``compartment``, ``round_id``…). Screens turn ``reason`` into a
catalogue key (``refusal.<reason>``) and fill it with ``details``; the command line prints
the message. The rule behind a refusal is checked once, where the refusal is raised.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """A request turned down; the state is as it was before the request."""

    #: The reason when a subclass is raised with none given.
    default_reason = "refused"

    def __init__(self, message: str = "", *, reason: str | None = None, **details: Any):
        self.reason = reason or self.default_reason
        self.details: dict[str, Any] = details
        super().__init__(message or self.reason.replace("_", " "))

    @property
    def message(self) -> str:
        return str(self)

    @property
    def wait_s(self) -> float:
        """The wait a back-off imposes before the next try (0 when none)."""
        return float(self.details.get("wait_s", 0.0))

    def catalogue_key(self) -> str:
        """The screen's catalogue key for this refusal."""
        return f"refusal.{self.reason}"
