"""The kiosk's features, one module each; ``kiosk/composition.py`` lists them."""
