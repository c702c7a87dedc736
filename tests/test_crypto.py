from __future__ import annotations

import base64

import pytest

from patchwork.crypto import DataCipher, DecryptionError

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()


def test_round_trip_and_no_plaintext_in_ciphertext() -> None:
    cipher = DataCipher(KEY_A)
    sealed = cipher.encrypt("JBSWY3DPEHPK3PXP", context="totp:1")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert cipher.decrypt(sealed, context="totp:1") == "JBSWY3DPEHPK3PXP"


def test_context_binds_the_ciphertext() -> None:
    cipher = DataCipher(KEY_A)
    sealed = cipher.encrypt("secret", context="totp:1")
    with pytest.raises(DecryptionError):
        cipher.decrypt(sealed, context="totp:2")


def test_tampering_is_detected() -> None:
    cipher = DataCipher(KEY_A)
    sealed = cipher.encrypt("secret", context="c")
    version, kid, payload = sealed.split(":", 2)
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        cipher.decrypt(f"{version}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}", context="c")


def test_old_key_still_decrypts_after_rotation() -> None:
    sealed = DataCipher(KEY_A).encrypt("secret", context="c")
    rotated = DataCipher(KEY_B, previous=(KEY_A,))
    assert rotated.decrypt(sealed, context="c") == "secret"
    assert rotated.encrypt("x", context="c").split(":")[1] == rotated.current_id
    with pytest.raises(DecryptionError):
        DataCipher(KEY_B).decrypt(sealed, context="c")
