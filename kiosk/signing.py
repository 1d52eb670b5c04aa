"""The kiosk's own signing key, and the signed heads of its public chains.

Each kiosk has an Ed25519 key, made the first time it runs and kept in its data directory
(``kiosk.key``, readable by the kiosk's user only). Its public half is published retained
and in every export, so a witness (``witness/``) catches at once a chain that someone
without the key forged. A *head* says how long a chain is and the hash of its newest
entry; signing the head signs every entry before it, since each hash covers the one
before. Whoever holds root on the kiosk holds the key too: against them, the witnesses'
own copies are the guard, not the signature.

The signed bytes are the canonical JSON (``kiosk.rotation.canonical_json``) of the head
without its ``sig``; the signature is hex. docs/witness.md spells both out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from kiosk.rotation import canonical_json

KEY_FILE = "kiosk.key"
HEAD_FORMAT = "kiosk-chain-head/1"
KEY_FORMAT = "kiosk-key/1"
# The chains a kiosk signs the heads of.
AUDIT = "audit"
DRAWS = "draws"
CHAINS = (AUDIT, DRAWS)


class KeyFileError(Exception):
    """The key file is unreadable or not a key: the kiosk must not invent a new one."""


@dataclass(frozen=True)
class KioskKey:
    private: Ed25519PrivateKey

    @classmethod
    def load_or_create(cls, data_dir: str | Path) -> KioskKey:
        """The kiosk's key, made on first run (mode 0600). A key file that exists but is
        broken is an error, never silently replaced: a new key is a new identity."""
        path = Path(data_dir) / KEY_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            key = Ed25519PrivateKey.generate()
            raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(KEY_FILE + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return cls(key)
        if len(raw) != 32:
            raise KeyFileError(f"{path}: not an Ed25519 key ({len(raw)} bytes, expected 32)")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @classmethod
    def load(cls, data_dir: str | Path) -> KioskKey:
        """The existing key; never makes one (a tool must not give a kiosk a new identity)."""
        path = Path(data_dir) / KEY_FILE
        if not path.is_file():
            raise KeyFileError(f"{path}: no key (the kiosk makes it on its first run)")
        return cls.load_or_create(data_dir)

    @property
    def public_hex(self) -> str:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def sign(self, message: dict[str, Any]) -> str:
        return self.private.sign(canonical_json(message)).hex()

    def head(self, community: str, kiosk: str, chain: str, seq: int,
             digest: str) -> dict[str, Any]:
        body = make_head(community, kiosk, chain, seq, digest)
        return {**body, "sig": self.sign(body)}

    def announcement(self, community: str, kiosk: str) -> dict[str, Any]:
        """The public key as published (retained, and in every export)."""
        return {"format": KEY_FORMAT, "community": community, "kiosk": kiosk,
                "algorithm": "ed25519", "public_key": self.public_hex}


def make_head(community: str, kiosk: str, chain: str, seq: int, digest: str) -> dict[str, Any]:
    return {"format": HEAD_FORMAT, "community": community, "kiosk": kiosk, "chain": chain,
            "seq": seq, "hash": digest}


def check_signature(public_hex: str, message: dict[str, Any], sig_hex: str) -> bool:
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        public.verify(bytes.fromhex(sig_hex), canonical_json(message))
    except (ValueError, InvalidSignature, TypeError):
        return False
    return True


def check_head(public_hex: str, head: Any) -> str | None:
    """What is wrong with a published head, or None when it is well formed and signed."""
    if not isinstance(head, dict):
        return "not a chain head"
    body = {k: v for k, v in head.items() if k != "sig"}
    if set(body) != {"format", "community", "kiosk", "chain", "seq", "hash"}:
        return "not a chain head (fields)"
    if body["format"] != HEAD_FORMAT or body["chain"] not in CHAINS:
        return f"unknown head format or chain {body['format']!r}/{body['chain']!r}"
    seq = body["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "head seq malformed"
    if not isinstance(head.get("sig"), str):
        return "head is not signed"
    if not check_signature(public_hex, body, head["sig"]):
        return "head signature does not verify with the kiosk's published key"
    return None
