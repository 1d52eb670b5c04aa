"""GPIO peripherals on gpiozero's mock pins, driven as the real wiring would."""

from __future__ import annotations

import time

import pytest

from devices.gpio import GpioError, GpioPeripherals
from kiosk.config import GpioConfig

PINS = GpioConfig(pin_factory="mock", buzzer=17, led_ok=22, led_fault=23, tamper=24,
                  motion=25, barrier=26, spot_sensors={"A1": 5, "A2": 6})


@pytest.fixture
def gpio(mock_factory):
    with GpioPeripherals(PINS, pin_factory=mock_factory, beep_s=0.005) as peripherals:
        yield peripherals


def pin(factory, number: int):
    return factory.pin(number)


def test_leds_and_barrier_drive_their_pins(gpio, mock_factory):
    gpio.set_status_led("fault", True)
    assert pin(mock_factory, 23).state and not pin(mock_factory, 22).state
    gpio.set_status_led("fault", False)
    gpio.set_status_led("ok", True)
    assert pin(mock_factory, 22).state and not pin(mock_factory, 23).state
    gpio.set_barrier(True)
    assert pin(mock_factory, 26).state
    gpio.set_barrier(False)
    assert not pin(mock_factory, 26).state
    with pytest.raises(ValueError, match="unknown status LED"):
        gpio.set_status_led("blue", True)


def test_beep_pulses_the_buzzer_in_the_background(gpio, mock_factory):
    buzzer = pin(mock_factory, 17)
    gpio.beep(times=3)
    deadline = time.monotonic() + 5
    while len(buzzer.states) < 7 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert [s.state for s in buzzer.states] == [False] + [True, False] * 3


def test_tamper_switch_reports_opened_and_shut(gpio, mock_factory):
    seen: list[bool] = []
    gpio.on_tamper(seen.append)
    switch = pin(mock_factory, 24)
    switch.drive_low()  # door shut presses the switch
    assert not gpio.cabinet_open
    switch.drive_high()  # door opened releases it
    assert gpio.cabinet_open
    switch.drive_low()
    assert seen == [False, True, False]


def test_motion_wakes_the_screen(gpio, mock_factory):
    calls: list[str] = []
    gpio.on_motion(lambda: calls.append("motion"))
    sensor = pin(mock_factory, 25)
    sensor.drive_high()
    sensor.drive_low()
    sensor.drive_high()
    assert calls == ["motion", "motion"]


def test_spot_sensors_report_spot_and_occupancy(gpio, mock_factory):
    seen: list[tuple[str, bool]] = []
    gpio.on_spot(lambda spot, occupied: seen.append((spot, occupied)))
    pin(mock_factory, 6).drive_low()  # a car closes the detector's contact
    assert gpio.spot_occupied("A2") and not gpio.spot_occupied("A1")
    pin(mock_factory, 5).drive_low()
    pin(mock_factory, 6).drive_high()
    assert seen == [("A2", True), ("A1", True), ("A2", False)]


def test_missing_devices_are_no_ops(mock_factory):
    with GpioPeripherals(GpioConfig(pin_factory="mock", led_ok=4),
                         pin_factory=mock_factory) as bare:
        bare.beep()
        bare.set_status_led("fault", True)
        bare.set_barrier(True)
        bare.on_tamper(lambda opened: None)
        bare.on_motion(lambda: None)
        assert not bare.cabinet_open
        bare.set_status_led("ok", True)
        assert pin(mock_factory, 4).state


def test_busy_pins_are_a_clear_error_and_close_releases_them(mock_factory):
    first = GpioPeripherals(PINS, pin_factory=mock_factory)
    with pytest.raises(GpioError, match="GPIO setup failed"):
        GpioPeripherals(PINS, pin_factory=mock_factory)
    first.close()
    GpioPeripherals(PINS, pin_factory=mock_factory).close()


def test_mock_setting_builds_its_own_factory():
    with GpioPeripherals(PINS) as gpio:
        gpio.set_status_led("ok", True)
        assert gpio.leds["ok"].is_lit
