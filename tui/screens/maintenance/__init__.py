"""Maintenance, for the volunteer on duty: their name, then their PIN, then every device at a
glance and the actions a maintainer may take — each with a reason, each in the public audit
log.

One module per pane: the names on duty and the PIN (pin.py); the overview: compartment
grid, boards, GPIO, uplink, faults (overview.py); a compartment and its actions
(compartment.py); a fault's runbook (runbook.py); parcels in review (review.py); car park
spots (spots.py); the reconcile result (reconcile.py); the public roster with handover
(roster.py); and the reason pane every action passes through (reason.py). The screen
(screen.py) holds the session and calls the roster, the boards and the services from
thread workers only. The session ends with the idle reset, with "log out", or when the
shift does.
"""

from tui.screens.maintenance.screen import MaintenanceScreen

__all__ = ["MaintenanceScreen"]
