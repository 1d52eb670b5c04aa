"""The top line of every screen: where you are on the left, a running note on the right."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal cells, with an ellipsis if it was cut."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(width - 1, 0)).rstrip() + "…" if width > 0 else ""


def two_ends(left: str, right: str, width: int) -> str:
    """``left`` and ``right`` on one line of ``width`` cells; wide characters count twice.

    The left part wins when both do not fit: it says where you are.
    """
    left = fit(left, width)
    right = fit(right, width - cell_len(left) - 2) if right else ""
    gap = width - cell_len(left) - cell_len(right)
    return left + " " * max(gap, 0) + right


class TitleBar(Widget):
    title: reactive[str] = reactive("")
    note: reactive[str] = reactive("")

    def __init__(self, title: str = "", note: str = ""):
        super().__init__(id="title-bar")
        self.set_reactive(TitleBar.title, title)
        self.set_reactive(TitleBar.note, note)

    def render(self) -> Text:
        width = self.content_region.width or self.size.width
        return Text(two_ends(self.title, self.note, width))
