"""The public board: spots per type now, the next and the last draw with the inputs anyone
needs to re-check it, and this round's allocations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from kiosk.parking.desk import DrawInputs, PublicBoard
from tui.kiosk_node import InKiosk
from tui.screens.parking.words import labelled, round_state, stack, type_name, when
from tui.widgets.keypad import KeyButton


class BoardPane(InKiosk, Vertical):
    def compose(self) -> ComposeResult:
        t = self.app.t
        with VerticalScroll(classes="park-scroll"):
            yield Static(t("parking.loading"), id="park-board-info", markup=False)
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(t("nav.back"), classes="nav step-back")

    def show(self, board: PublicBoard) -> None:
        t = self.app.t
        table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False)
        table.add_column(t("parking.col_type"))
        for heading in (t("parking.col_spots"), t("parking.col_free"), t("parking.col_held"),
                        t("parking.col_reserved"), t("parking.col_out")):
            table.add_column(heading, justify="right")
        for c in board.types:
            table.add_row(type_name(t, c.type), str(c.spots), str(c.free_now), str(c.held),
                          str(c.reserved_now), str(c.out_of_service))
        lines: list[Any] = [t("parking.board_spots"), table, ""]
        if board.next_draw is not None:
            d = board.next_draw
            lines.append(t("parking.board_next", round=d.round, n=d.askers,
                           state=round_state(t, d.status)))
            lines += self._draw_lines(d, board.now)
        elif board.next_round is not None:
            lines.append(t("parking.board_next_none", round=board.next_round))
        lines.append("")
        if board.current_round is None:
            lines.append(t("parking.board_no_allocations"))
        else:
            lines.append(t("parking.board_allocations", round=board.current_round,
                           n=len(board.allocations)))
            cells = [f"{member}→{spot}" for member, spot, _ in board.allocations]
            width = max((cell_len(c) for c in cells), default=0) + 2
            per_line = max(1, 76 // max(width, 1))
            for i in range(0, len(cells), per_line):
                lines.append("  " + "".join(c.ljust(width) for c in cells[i:i + per_line])
                             .rstrip())
        if board.last_draw is not None:
            lines.append("")
            d = board.last_draw
            lines.append(t("parking.board_last", round=d.round, n=d.askers,
                           when=when(t, d.drawn_at, board.now) if d.drawn_at else ""))
            lines += self._draw_lines(d, board.now)
        lines.append(t("parking.board_verify"))
        self.query_one("#park-board-info", Static).update(stack(lines))

    def _draw_lines(self, draw: DrawInputs, now: datetime) -> list[str]:
        """The inputs anyone needs to re-check the draw, lined up."""
        t = self.app.t
        rows = []
        if draw.closed_at is not None:
            rows.append((t("parking.label_closed"), when(t, draw.closed_at, now)))
        if draw.eligible_hash:
            rows.append((t("parking.label_eligible"), draw.eligible_hash))
        if draw.algorithm:
            rows.append((t("parking.label_algorithm"), draw.algorithm))
        if draw.public_random is not None:
            rows.append((t("parking.label_random"), draw.public_random))
        if draw.inputs_hash:
            rows.append((t("parking.label_inputs"), draw.inputs_hash))
        if draw.results_hash:
            rows.append((t("parking.label_results"), draw.results_hash))
        return labelled(rows)
