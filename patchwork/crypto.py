"""Authenticated encryption at rest (AES-GCM) with a key id stored beside each ciphertext."""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from patchwork.settings import decode_data_key

FORMAT = "v1"


class DecryptionError(ValueError):
    """The ciphertext was altered, or its key is not configured."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"patchwork-key-id" + key).hexdigest()[:12]


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
