"""Parking: the public board for anyone; for a member (unit + PIN) their spot and history,
requests in the open round, short reservations, the waitlist, and the car-park gate.

One module per pane (menu, login, member page, request, reserve, board); the screen
(screen.py) holds the member's session, runs the desk's calls in workers and moves
between the panes. The gate opens only from here, at the kiosk.
"""

from tui.screens.parking.screen import ParkingScreen

__all__ = ["ParkingScreen"]
