"""Parking: members and spots, fair allocation rounds, short reservations, draw records.

Plain Python: the sensors, the gate relay and the screen talk to ``ParkingRegister``
through plain method calls.
"""
