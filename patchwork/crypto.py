"""Authenticated encryption at rest (AES-GCM) with a key id stored beside each ciphertext."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from patchwork.settings import decode_data_key

FORMAT = "v1"


class DecryptionError(ValueError):
    """The ciphertext was altered, or its key is not configured."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"patchwork-key-id" + key).hexdigest()[:12]


def sealed_length(characters: int) -> int:
    """The longest ciphertext `DataCipher.encrypt` makes of a text of this many characters (4 UTF-8 bytes each)."""
    payload = 12 + 4 * characters + 16  # nonce, text, tag
    return len(f"{FORMAT}::") + 12 + 4 * -(-payload // 3)


class DataCipher:
    """Encrypts with the current key; decrypts with any key it holds, so keys can be rotated."""

    def __init__(self, current: str, previous: tuple[str, ...] = ()) -> None:
        self._current = decode_data_key(current)
        self.current_id = key_id(self._current)
        self._keys = {key_id(raw): raw for raw in (self._current, *map(decode_data_key, previous))}

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._current).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{FORMAT}:{self.current_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        try:
            version, kid, payload = token.split(":", 2)
            raw = base64.urlsafe_b64decode(payload.encode())
            key = self._keys[kid]
        except (ValueError, KeyError) as error:
            raise DecryptionError("ciphertext cannot be read with the configured keys") from error
        if version != FORMAT:
            raise DecryptionError(f"unknown ciphertext format {version!r}")
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as error:
            raise DecryptionError("ciphertext failed its integrity check") from error


def derive_key(master: bytes, purpose: bytes) -> bytes:
    """A separate key for each purpose, so one use can never be confused with another."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class BlindIndex:
    """Keyed hashes of normalised identifiers: exact matches can be found, values cannot be read back.

    New values are hashed with the current key; look-ups try every key held, so search keeps working
    while `patchwork keys rotate` re-indexes under a new key.
    """

    def __init__(self, key: bytes, previous: tuple[bytes, ...] = ()) -> None:
        self._key = key
        self._all = (key, *previous)

    @classmethod
    def from_data_key(cls, data_key: str, previous: tuple[str, ...] = ()) -> BlindIndex:
        def derive(value: str) -> bytes:
            return derive_key(decode_data_key(value), b"patchwork-child-index")

        return cls(derive(data_key), tuple(derive(p) for p in previous))

    def __call__(self, kind: str, *parts: str) -> str:
        return self._digest(self._key, kind, parts)

    def every(self, kind: str, *parts: str) -> list[str]:
        return [self._digest(key, kind, parts) for key in self._all]

    @staticmethod
    def _digest(key: bytes, kind: str, parts: tuple[str, ...]) -> str:
        message = "\x1f".join((kind, *parts)).encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()


class BadCursor(ValueError):
    """A cursor that was altered, forged, or made for another network."""


class Cursors:
    """Seals (network, sequence) into an opaque token; only this deployment can open one."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, network_id: str, seq: int) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, f"{network_id}:{seq}".encode(), b"cursor")
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, cursor: str, *, network_id: str) -> int:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            plain = self._aead.decrypt(raw[:12], raw[12:], b"cursor").decode()
            owner, seq = plain.rsplit(":", 1)
        except (ValueError, InvalidTag, UnicodeDecodeError) as error:
            raise BadCursor("This cursor is not valid") from error
        if owner != network_id:
            raise BadCursor("This cursor belongs to another network")
        return int(seq)


@dataclass(frozen=True)
class Keyring:
    """The keys a use-case may need: encryption at rest, blind indexes, and the audit chain's HMAC key."""

    cipher: DataCipher
    index: BlindIndex
    audit: bytes  # the current audit key: new events are sealed with it
    cursors: Cursors
    audit_previous: tuple[bytes, ...] = ()  # older audit keys, to verify events sealed before a rotation
