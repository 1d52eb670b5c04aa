"""The ``kiosk`` command line: the composition root that wires core, devices, MQTT and UI."""
