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

Ed25519 comes from OpenSSL's libcrypto, the one Python's ``hashlib`` has already loaded
into the process, called through ``ctypes``: the ``cryptography`` package would add about
9 MB to the kiosk's resident memory for these three calls (docs/deploy.md, Footprint).
Where no libcrypto with Ed25519 is found it is the ``cryptography`` package. Both give
the same bytes: Ed25519 is deterministic (tests/test_signing.py holds them to it).
"""

from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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


class Ed25519(Protocol):
    """Raw Ed25519: 32-byte private and public keys, 64-byte signatures (RFC 8032)."""

    name: str

    def public(self, private: bytes) -> bytes: ...

    def sign(self, private: bytes, message: bytes) -> bytes: ...

    def verify(self, public: bytes, signature: bytes, message: bytes) -> bool: ...


_NID_ED25519 = 1087  # OpenSSL's EVP_PKEY_ED25519
_P = ctypes.c_void_p
_SIZE = ctypes.POINTER(ctypes.c_size_t)


class OpenSSLEd25519:
    """Ed25519 through libcrypto's EVP interface (OpenSSL 1.1.1 or later)."""

    name = "openssl"

    def __init__(self, lib: ctypes.CDLL):
        for fn, args, res in [
            ("EVP_PKEY_new_raw_private_key", [ctypes.c_int, _P, ctypes.c_char_p,
                                              ctypes.c_size_t], _P),
            ("EVP_PKEY_new_raw_public_key", [ctypes.c_int, _P, ctypes.c_char_p,
                                             ctypes.c_size_t], _P),
            ("EVP_PKEY_get_raw_public_key", [_P, ctypes.c_char_p, _SIZE], ctypes.c_int),
            ("EVP_PKEY_free", [_P], None),
            ("EVP_MD_CTX_new", [], _P),
            ("EVP_MD_CTX_free", [_P], None),
            ("EVP_DigestSignInit", [_P, _P, _P, _P, _P], ctypes.c_int),
            ("EVP_DigestSign", [_P, ctypes.c_char_p, _SIZE, ctypes.c_char_p,
                                ctypes.c_size_t], ctypes.c_int),
            ("EVP_DigestVerifyInit", [_P, _P, _P, _P, _P], ctypes.c_int),
            ("EVP_DigestVerify", [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                  ctypes.c_size_t], ctypes.c_int),
            ("ERR_clear_error", [], None),
        ]:
            f = getattr(lib, fn)  # AttributeError: an OpenSSL without raw Ed25519 keys
            f.argtypes, f.restype = args, res
        self._lib = lib

    def _key(self, raw: bytes, *, private: bool) -> int:
        if len(raw) != 32:
            raise ValueError("an Ed25519 key is 32 bytes")
        new = (self._lib.EVP_PKEY_new_raw_private_key if private
               else self._lib.EVP_PKEY_new_raw_public_key)
        key = new(_NID_ED25519, None, raw, len(raw))
        if not key:
            self._lib.ERR_clear_error()
            raise ValueError("OpenSSL refused the Ed25519 key")
        return int(key)

    def public(self, private: bytes) -> bytes:
        key = self._key(private, private=True)
        try:
            out = ctypes.create_string_buffer(32)
            size = ctypes.c_size_t(32)
            if self._lib.EVP_PKEY_get_raw_public_key(key, out, ctypes.byref(size)) != 1:
                self._lib.ERR_clear_error()
                raise ValueError("OpenSSL gave no Ed25519 public key")
            return out.raw[:size.value]
        finally:
            self._lib.EVP_PKEY_free(key)

    def sign(self, private: bytes, message: bytes) -> bytes:
        key = self._key(private, private=True)
        ctx = self._lib.EVP_MD_CTX_new()
        try:
            out = ctypes.create_string_buffer(64)
            size = ctypes.c_size_t(64)
            if (not ctx or self._lib.EVP_DigestSignInit(ctx, None, None, None, key) != 1
                    or self._lib.EVP_DigestSign(ctx, out, ctypes.byref(size), message,
                                                len(message)) != 1):
                self._lib.ERR_clear_error()
                raise ValueError("OpenSSL could not sign with the Ed25519 key")
            return out.raw[:size.value]
        finally:
            self._lib.EVP_MD_CTX_free(ctx)
            self._lib.EVP_PKEY_free(key)

    def verify(self, public: bytes, signature: bytes, message: bytes) -> bool:
        key = self._key(public, private=False)
        ctx = self._lib.EVP_MD_CTX_new()
        try:
            ok = (bool(ctx)
                  and self._lib.EVP_DigestVerifyInit(ctx, None, None, None, key) == 1
                  and self._lib.EVP_DigestVerify(ctx, signature, len(signature), message,
                                                 len(message)) == 1)
            if not ok:
                self._lib.ERR_clear_error()  # a bad signature leaves an error queued
            return ok
        finally:
            self._lib.EVP_MD_CTX_free(ctx)
            self._lib.EVP_PKEY_free(key)


class CryptographyEd25519:
    """Ed25519 through the ``cryptography`` package."""

    name = "cryptography"

    def public(self, private: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        key = Ed25519PrivateKey.from_private_bytes(private)
        return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, private: bytes, message: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(private).sign(message)

    def verify(self, public: bytes, signature: bytes, message: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def loaded_libcrypto() -> str | None:
    """The path of the libcrypto this process has loaded for ``hashlib`` (Linux), if any:
    the same library, so using it maps nothing new."""
    import _hashlib  # noqa: F401  (loads libcrypto, where Python links it dynamically)

    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.split(maxsplit=5)[-1]
        if "/libcrypto.so" in path and os.path.isfile(path):
            return path
    return None


@functools.cache
def ed25519() -> Ed25519:
    """The process's Ed25519: libcrypto's when found, else the ``cryptography`` package."""
    path = loaded_libcrypto()
    if path is not None:
        try:
            return OpenSSLEd25519(ctypes.CDLL(path))
        except (OSError, AttributeError):  # not loadable, or too old for raw keys
            pass
    return CryptographyEd25519()


@dataclass(frozen=True)
class KioskKey:
    """The kiosk's private key (32 raw bytes, as kept in ``kiosk.key``)."""

    raw: bytes = field(repr=False)

    @classmethod
    def load_or_create(cls, data_dir: str | Path) -> KioskKey:
        """The kiosk's key, made on first run (mode 0600). A key file that exists but is
        broken is an error, never silently replaced: a new key is a new identity."""
        path = Path(data_dir) / KEY_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            # An Ed25519 private key is 32 random bytes (RFC 8032, 5.1.5).
            raw = os.urandom(32)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(KEY_FILE + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return cls(raw)
        if len(raw) != 32:
            raise KeyFileError(f"{path}: not an Ed25519 key ({len(raw)} bytes, expected 32)")
        return cls(raw)

    @classmethod
    def load(cls, data_dir: str | Path) -> KioskKey:
        """The existing key; never makes one (a tool must not give a kiosk a new identity)."""
        path = Path(data_dir) / KEY_FILE
        if not path.is_file():
            raise KeyFileError(f"{path}: no key (the kiosk makes it on its first run)")
        return cls.load_or_create(data_dir)

    @functools.cached_property
    def public_hex(self) -> str:
        return ed25519().public(self.raw).hex()

    def sign(self, message: dict[str, Any]) -> str:
        return ed25519().sign(self.raw, canonical_json(message)).hex()

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
        return ed25519().verify(bytes.fromhex(public_hex), bytes.fromhex(sig_hex),
                                canonical_json(message))
    except (ValueError, TypeError):
        return False


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
