"""The community notifier (``kiosk notify``): delivers the kiosks' private notifications to
the residents' own channels through Apprise, and tells each kiosk by a receipt (docs/notify.md).

Runs where the contacts are kept, and only there: the kiosk never sees a contact.
"""
