"""The kiosk's Ed25519 (kiosk/signing.py): libcrypto through ctypes, held to the bytes of
RFC 8032 and of the ``cryptography`` package, which a witness may use to check them."""

from __future__ import annotations

import hashlib

import pytest

from kiosk.rotation import canonical_json
from kiosk.signing import CryptographyEd25519, KioskKey, check_head, ed25519

# RFC 8032, section 7.1, TEST 1 and TEST 2.
VECTORS = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
     "39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f"
     "3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
]
BACKENDS = [ed25519(), CryptographyEd25519()]


def test_the_kiosk_signs_with_the_libcrypto_hashlib_loaded():
    # The footprint relies on it (docs/deploy.md): no ``cryptography`` in the kiosk.
    assert ed25519().name == "openssl"


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize(("private", "public", "message", "signature"), VECTORS)
def test_rfc8032_vectors(backend, private, public, message, signature):
    priv, msg, sig = bytes.fromhex(private), bytes.fromhex(message), bytes.fromhex(signature)
    assert backend.public(priv).hex() == public
    assert backend.sign(priv, msg) == sig
    assert backend.verify(bytes.fromhex(public), sig, msg)
    # Control: one bit off in the signature or the message, and it no longer verifies.
    assert not backend.verify(bytes.fromhex(public), bytes([sig[0] ^ 1]) + sig[1:], msg)
    assert not backend.verify(bytes.fromhex(public), sig, msg + b"!")


def test_both_give_the_same_keys_and_signatures():
    ours, theirs = BACKENDS
    for i in range(50):
        private = hashlib.sha256(b"key %d" % i).digest()
        message = hashlib.sha512(b"message %d" % i).digest()[: i + 1]
        public = ours.public(private)
        assert public == theirs.public(private)
        signature = ours.sign(private, message)
        assert signature == theirs.sign(private, message)
        assert theirs.verify(public, signature, message)
        assert ours.verify(public, signature, message)
    # Wrong sizes are refused, not signed or read past.
    with pytest.raises(ValueError):
        ours.sign(b"short", b"m")
    assert not ours.verify(public, signature[:63], message)


def test_a_new_key_signs_heads_a_witness_checks(tmp_path):
    key = KioskKey.load_or_create(tmp_path)
    assert (tmp_path / "kiosk.key").stat().st_mode & 0o777 == 0o600
    assert KioskKey.load(tmp_path).public_hex == key.public_hex
    head = key.head("c", "k", "audit", 3, "ab" * 32)
    assert check_head(key.public_hex, head) is None
    body = canonical_json({k: v for k, v in head.items() if k != "sig"})
    assert CryptographyEd25519().verify(bytes.fromhex(key.public_hex),
                                        bytes.fromhex(head["sig"]), body)
    # Control: a head changed after signing is caught.
    assert check_head(key.public_hex, {**head, "seq": 4}) is not None
