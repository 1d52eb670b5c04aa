"""What a feature of the kiosk is: how it is built, started and stopped, and its periodic
work. The list of features is in ``kiosk/composition.py``; each lives in ``kiosk/features/``.

Also the two small pieces every feature shares: ``Signals`` (device and domain happenings
fanned out to whoever listens: the health monitor, the LEDs, the screen) and ``Periodic``
(work the composition's scheduler runs, never a UI timer).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from kiosk.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """Work run every ``every_s`` on the scheduler's thread, the first time at start."""

    name: str
    every_s: float
    run: Callable[[], object]


def _always(config: Config) -> bool:
    return True


def _no_check(config: Config) -> None:
    return None


def _nothing(kiosk: Kiosk) -> None:
    return None


def _no_work(kiosk: Kiosk) -> Iterable[Periodic]:
    return ()


@dataclass(frozen=True)
class Feature:
    """One part of a kiosk.

    ``build`` makes its objects and puts them on the kiosk (no thread started, no lock
    moved); ``start`` does what must happen before people use the kiosk (reconcile,
    connect); ``periodic`` names its recurring work; ``stop`` undoes ``start``. ``wanted``
    says from the config whether this kiosk has the feature at all; ``check`` raises
    ``ConfigError`` for its bad settings before anything is opened.
    """

    name: str
    build: Callable[[Kiosk], None]
    start: Callable[[Kiosk], None] = _nothing
    stop: Callable[[Kiosk], None] = _nothing
    periodic: Callable[[Kiosk], Iterable[Periodic]] = _no_work
    wanted: Callable[[Config], bool] = _always
    check: Callable[[Config], None] = _no_check


class Signals:
    """Named happenings, each fanned out to every listener in the order they connected.

    Devices call back on their own threads (gpiozero's, or the caller's with mock pins),
    so listeners must be thread-safe; the screen's only post a Textual message. One
    listener failing is logged and does not keep the others from hearing it.
    """

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[..., object]]] = defaultdict(list)
        self._lock = threading.Lock()

    def connect(self, name: str, listener: Callable[..., object]) -> None:
        with self._lock:
            self._listeners[name].append(listener)

    def emit(self, name: str, *args: Any) -> None:
        with self._lock:
            listeners = list(self._listeners.get(name, ()))
        for listener in listeners:
            try:
                listener(*args)
            except Exception:  # one listener's bug must not silence the rest
                log.exception("a listener of %r failed", name)
