"""The plain pieces under the screen: typed input, cell widths, best fit, wrong-PIN waits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from kiosk.backoff import TooManyAttempts
from kiosk.codes import ALPHABET
from kiosk.lockers.model import WrongPin
from tests.lockers_setup import build_lockers
from tui.widgets.entry import EntryBuffer
from tui.widgets.size_chooser import best_fit
from tui.widgets.title_bar import fit, two_ends

ROOT = Path(__file__).resolve().parent.parent


def test_entry_buffer_takes_only_its_alphabet_up_to_its_length():
    buffer = EntryBuffer(ALPHABET, 4)
    for ch in "k7o0px9":
        buffer.add(ch)
    assert buffer.value == "K7PX"  # lower case raised; O and 0 refused; stops at 4
    buffer.back()
    assert buffer.value == "K7P"
    buffer.clear()
    assert buffer.value == ""


@pytest.mark.parametrize("width", [10, 21, 40, 80])
def test_two_ends_fills_exactly_the_width_with_wide_characters(width):
    line = two_ends("取件 · 请输入取件码", "本次已投递 12 件", width)
    assert cell_len(line) == width
    assert line.startswith("取件")


def test_fit_cuts_on_cells_with_an_ellipsis():
    assert fit("柜门故障 A03 B07", 8) == "柜门故…"
    assert cell_len(fit("柜门故障 A03 B07", 8)) <= 8
    assert fit("short", 8) == "short"


def test_best_fit_takes_the_size_else_the_next_larger_free_one():
    assert best_fit("S", {"S": 1, "M": 0, "L": 2}) == "S"
    assert best_fit("S", {"S": 0, "M": 0, "L": 2}) == "L"
    assert best_fit("M", {"S": 5, "M": 0, "L": 0}) is None


def test_wrong_pin_carries_the_wait_the_screen_shows(tmp_path, sim, bus):
    k = build_lockers(tmp_path / "kiosk.db", bus, sim.port)  # free_attempts=2, base 5 s
    k.service.add_courier("c1", "12341234")
    with pytest.raises(WrongPin) as first:
        k.service.courier_login("c1", "00000000")
    assert first.value.wait_s == 0
    with pytest.raises(WrongPin) as second:
        k.service.courier_login("c1", "00000000")
    assert second.value.wait_s == 5
    with pytest.raises(TooManyAttempts):
        k.service.courier_login("c1", "12341234")
    k.service.store.close()


def test_the_store_loads_no_sqlite_utils_plugins(tmp_path):
    code = ("import sys; from kiosk.schema import open_kiosk_store\n"
            f"open_kiosk_store({str(tmp_path / 'k.db')!r}).close()\n"
            "import sqlite_utils.plugins as p; print(p._plugins_loaded)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"
