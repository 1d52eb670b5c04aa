"""One screen per thing a person comes to the kiosk to do."""
