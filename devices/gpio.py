"""The cabinet's GPIO peripherals over gpiozero: ``kiosk.hardware.Peripherals`` and more.

Pins come from ``[gpio]`` in the config; a pin left out is a device the cabinet lacks,
and calls for it do nothing. ``pin_factory = "mock"`` gives gpiozero's mock pins (demo,
tests); the factory is passed to each device rather than set globally, so two instances
never share pins by accident.

Wiring assumed (BCM numbers): the tamper switch and spot sensors are contacts to ground
(internal pull-up; closed = pin low); the PIR motion sensor drives its pin high. The
tamper switch is held closed by the shut cabinet door, so a released switch means open.
Callbacks run on gpiozero's event thread, or on the caller's thread with mock pins.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from gpiozero import (
    LED,
    Button,
    Buzzer,
    Device,
    DigitalInputDevice,
    GPIOZeroError,
    OutputDevice,
)
from gpiozero.pins.mock import MockFactory

from kiosk.config import GpioConfig

LED_NAMES = ("ok", "fault")


class GpioError(Exception):
    """The GPIO pins could not be set up (no GPIO chip, pin busy, bad factory)."""


class GpioPeripherals:
    def __init__(self, config: GpioConfig, *, pin_factory: object | None = None,
                 beep_s: float = 0.15):
        # A mock factory this object made is its own to close; one passed in is not.
        self._own_factory: MockFactory | None = None
        if pin_factory is None and config.pin_factory == "mock":
            pin_factory = self._own_factory = MockFactory()
        self._factory = pin_factory  # None: gpiozero picks the native factory
        self._beep_s = beep_s
        self._devices: list[Device] = []
        try:
            self.buzzer = self._make(Buzzer, config.buzzer)
            self.leds = {name: self._make(LED, getattr(config, f"led_{name}"))
                         for name in LED_NAMES}
            self.tamper = self._make(Button, config.tamper, pull_up=True, bounce_time=None)
            self.motion = self._make(DigitalInputDevice, config.motion, pull_up=False)
            self.barrier = self._make(OutputDevice, config.barrier)
            self.spots = {spot: self._fit(DigitalInputDevice, pin, pull_up=True)
                          for spot, pin in config.spot_sensors.items()}
        except GPIOZeroError as exc:
            self.close()
            raise GpioError(f"GPIO setup failed: {exc}") from None

    def _make(self, cls: type[Device], pin: int | None, **kwargs: object) -> Device | None:
        """The device on ``pin``, or None for a device the cabinet lacks."""
        return None if pin is None else self._fit(cls, pin, **kwargs)

    def _fit(self, cls: type[Device], pin: int, **kwargs: object) -> Device:
        device = cls(pin, pin_factory=self._factory, **kwargs)
        self._devices.append(device)
        return device

    # -- outputs ---------------------------------------------------------------------

    def beep(self, times: int = 1) -> None:
        """Beep ``times`` short beeps in the background; returns at once."""
        if self.buzzer is not None and times > 0:
            self.buzzer.beep(on_time=self._beep_s, off_time=self._beep_s, n=times,
                             background=True)

    def set_status_led(self, name: str, on: bool) -> None:
        if name not in self.leds:
            raise ValueError(f"unknown status LED {name!r} (known: {', '.join(LED_NAMES)})")
        led = self.leds[name]
        if led is not None:
            led.value = on

    def set_barrier(self, raised: bool) -> None:
        if self.barrier is not None:
            self.barrier.value = raised

    # -- inputs ----------------------------------------------------------------------

    @property
    def cabinet_open(self) -> bool:
        return self.tamper is not None and not self.tamper.is_pressed

    def spot_occupied(self, spot: str) -> bool:
        return bool(self.spots[spot].is_active)

    def readings(self) -> dict[str, str]:
        """Every fitted device and its state in a word, for the maintenance screen.

        Keys: tamper, motion, buzzer, led_ok, led_fault, barrier, spot:<id>; a device the
        cabinet lacks is left out.
        """
        out: dict[str, str] = {}
        if self.tamper is not None:
            out["tamper"] = "open" if self.cabinet_open else "closed"
        if self.motion is not None:
            out["motion"] = "active" if self.motion.is_active else "idle"
        if self.buzzer is not None:
            out["buzzer"] = "on" if self.buzzer.is_active else "off"
        for name, led in self.leds.items():
            if led is not None:
                out[f"led_{name}"] = "on" if led.is_active else "off"
        if self.barrier is not None:
            out["barrier"] = "raised" if self.barrier.is_active else "lowered"
        for spot, sensor in self.spots.items():
            out[f"spot:{spot}"] = "occupied" if sensor.is_active else "free"
        return out

    def on_tamper(self, callback: Callable[[bool], None]) -> None:
        """``callback(opened)`` when the cabinet is opened (True) or shut (False)."""
        if self.tamper is not None:
            self.tamper.when_released = partial(callback, True)
            self.tamper.when_pressed = partial(callback, False)

    def on_motion(self, callback: Callable[[], None]) -> None:
        if self.motion is not None:
            self.motion.when_activated = partial(callback)

    def on_spot(self, callback: Callable[[str, bool], None]) -> None:
        """``callback(spot, occupied)`` whenever a spot sensor changes."""
        for spot, sensor in self.spots.items():
            sensor.when_activated = partial(callback, spot, True)
            sensor.when_deactivated = partial(callback, spot, False)

    # -- life cycle ------------------------------------------------------------------

    def close(self) -> None:
        for device in reversed(self._devices):
            device.close()
        self._devices.clear()
        if self._own_factory is not None:
            self._own_factory.close()
            self._own_factory = None

    def __enter__(self) -> GpioPeripherals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
