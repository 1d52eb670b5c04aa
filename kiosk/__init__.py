"""The kiosk's core: domain rules and state, free of UI, MQTT and hardware libraries."""

# The one place the version is written: pyproject.toml reads it (setuptools' dynamic
# version), `kiosk --version` prints it, Home Assistant discovery and the kiosk's
# ``online`` status carry it.
__version__ = "0.1.0"
