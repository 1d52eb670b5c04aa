"""What every kiosk screen and widget shares: it knows it lives in the kiosk app, and its
failed workers go to the app's one handler.

``app`` is typed as ``KioskApp`` for the type checker only, so ``self.app.t(...)`` and
``self.app.lockers`` type-check; at run time it stays Textual's own ``app`` (the running
app, always a ``KioskApp`` here). Textual's typed accessor, ``getters.app(KioskApp)``,
would need the app's class when a screen's class is made, and so an import of the app
that imports the screens; naming it only for the type checker keeps the imports one way
(tests/test_tui_imports.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from textual import getters
    from textual.dom import DOMNode

    from tui.app import KioskApp

    # For the type checker the mixin is a node, so its typed ``app`` overrides the node's.
    _Node = DOMNode
else:
    # At run time a plain mixin: a node base would stand between a widget and its
    # Textual base in the CSS inheritance (``DOMNode._css_bases`` follows the first).
    _Node = object


class InKiosk(_Node):
    """Mix in before a Textual ``Screen`` or ``Widget`` class."""

    if TYPE_CHECKING:
        app = getters.app(KioskApp)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Workers are started with exit_on_error=False; a failure arrives here, on the
        # node that started the worker, and is handled once, by the app.
        if event.state == WorkerState.ERROR:
            self.app.worker_failed(self, event.worker)
            self.after_failed_worker(event.worker)

    def after_failed_worker(self, worker: Worker) -> None:
        """What this node puts right after one of its workers failed (nothing here)."""
