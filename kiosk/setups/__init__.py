"""What each command plugs into the composition (``kiosk/composition.py``): devices and
people. ``production`` opens the real boards and pins for ``kiosk run``; ``demo`` the pty
board simulator, gpiozero's mock pins and a sample community for ``kiosk demo``;
``simulation`` the same simulator with simulated couriers, residents and their notifier
for ``kiosk simulate``; ``screen`` puts the Textual screen over a composed kiosk."""
