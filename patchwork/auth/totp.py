"""Time-based one-time passwords (RFC 6238) with replay protection, QR codes and recovery codes."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno

ISSUER = "Patchwork"
RECOVERY_CODE_COUNT = 10
_CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str

    @property
    def grouped_secret(self) -> str:
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))

    def qr_svg(self) -> str:
        svg: str = segno.make(self.uri, error="m").svg_inline(scale=5, dark="#0b0c0c", light="#ffffff")
        return svg


def new_enrolment(email: str) -> Enrolment:
    secret = pyotp.random_base32()
    return Enrolment(secret=secret, uri=pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER))


def enrolment_for(secret: str, email: str) -> Enrolment:
    return Enrolment(secret=secret, uri=pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER))


def matching_step(secret: str, code: str, *, last_used_step: int | None, at: float | None = None) -> int | None:
    """The time step the code belongs to (one step of clock drift allowed), or None.

    A step at or before the last one used is refused, so a code cannot be replayed within its window.
    """
    code = re.sub(r"\s", "", code)
    if not _CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    current = totp.timecode(datetime.fromtimestamp(now, UTC))
    for step in (current - 1, current, current + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def normalise_recovery_code(code: str) -> str:
    compact = re.sub(r"[^a-z0-9]", "", code.lower())
    return f"{compact[:5]}-{compact[5:]}" if len(compact) == 10 else compact
