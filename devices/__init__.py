"""Hardware adapters: lock-control boards over pyserial, GPIO over gpiozero, simulators."""
