from __future__ import annotations

import time

import pyotp

from patchwork.auth import totp


def test_code_for_current_step_is_accepted_once() -> None:
    secret = pyotp.random_base32()
    now = time.time()
    code = pyotp.TOTP(secret).at(now)
    step = totp.matching_step(secret, code, last_used_step=None, at=now)
    assert step is not None
    assert totp.matching_step(secret, code, last_used_step=step, at=now) is None


def test_one_step_of_drift_either_way_is_allowed_but_not_two() -> None:
    secret = pyotp.random_base32()
    now = time.time()
    generator = pyotp.TOTP(secret)
    assert totp.matching_step(secret, generator.at(now - 30), last_used_step=None, at=now) is not None
    assert totp.matching_step(secret, generator.at(now + 30), last_used_step=None, at=now) is not None
    assert totp.matching_step(secret, generator.at(now - 90), last_used_step=None, at=now) is None


def test_malformed_codes_are_refused() -> None:
    secret = pyotp.random_base32()
    for code in ("", "12345", "1234567", "abcdef", "12 34 5x"):
        assert totp.matching_step(secret, code, last_used_step=None) is None


def test_spaces_in_a_code_are_ignored() -> None:
    secret = pyotp.random_base32()
    now = time.time()
    code = pyotp.TOTP(secret).at(now)
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", last_used_step=None, at=now) is not None


def test_enrolment_gives_a_scannable_uri_and_grouped_key() -> None:
    enrolment = totp.new_enrolment("jane@example.org")
    assert enrolment.uri.startswith("otpauth://totp/Patchwork:jane%40example.org?secret=")
    assert enrolment.grouped_secret.replace(" ", "") == enrolment.secret
    svg = enrolment.qr_svg()
    assert svg.startswith("<svg") and "style=" not in svg


def test_recovery_codes_are_unique_and_normalise() -> None:
    codes = totp.new_recovery_codes()
    assert len(set(codes)) == totp.RECOVERY_CODE_COUNT
    assert totp.normalise_recovery_code(codes[0].upper().replace("-", " ")) == codes[0]
