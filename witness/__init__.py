"""Witnesses: independent copies of every kiosk's audit and draw chains (docs/witness.md)."""
