"""Parcel lockers: compartments, parcels, codes, and the steps that move them."""
