"""CSRF tokens bound to the browser session: a token from another or an ended session is refused."""

from __future__ import annotations

from patchwork.auth.tokens import keyed_digest, same


def csrf_token(secret_key: str, binding: str) -> str:
    return keyed_digest(secret_key, "csrf", binding)


def csrf_valid(secret_key: str, binding: str, presented: str | None) -> bool:
    return bool(presented) and bool(binding) and same(csrf_token(secret_key, binding), presented or "")
