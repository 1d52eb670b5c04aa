"""Widgets of the kiosk screen: keypad, code entry, title bar, status line."""
