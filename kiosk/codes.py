"""Pickup codes and PINs: random, without look-alike characters, stored only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# No 0/O, 1/I/L: a code read off a phone at night must not be ambiguous.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize(text: str) -> str:
    """What a person typed, as a code: case and spaces do not matter."""
    return "".join(text.split()).upper()


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """HMAC so a copied database alone does not reveal codes or PINs by a table lookup."""
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def new_secret() -> str:
    return secrets.token_hex(32)
