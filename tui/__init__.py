"""The kiosk's touch screen, in Textual."""
