"""A refusal's words: the one way a screen turns a domain "no" into text.

Every domain refusal carries a reason code (kiosk/refusals.py). Its words are the
catalogue's ``refusal.<reason>`` when the catalogue has one, filled with the refusal's
details (``wait_s``, ``size``…) and what the screen adds; else the screen's own words for
that reason (they fit the step the person is at); else the screen's general words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Translate = Callable[..., str]


def catalogue_key(refusal: Any) -> str:
    """``refusal.catalogue_key()``; ``refusal.<reason>`` for a refusal that has only a
    ``reason`` (the parking desk's ``Refused``)."""
    key = getattr(refusal, "catalogue_key", None)
    return key() if callable(key) else f"refusal.{refusal.reason}"


def refusal_text(t: Translate, refusal: Any, words: Mapping[str, str], default: str,
                 **values: object) -> str:
    """The words for ``refusal``; ``words`` are the screen's, by reason."""
    key = catalogue_key(refusal)
    if t(key) == key:  # not in the catalogue (a missing key shows itself)
        return words.get(refusal.reason, default)
    filled = {**getattr(refusal, "details", {}), **values}
    return t(key, **filled) if filled else t(key)
