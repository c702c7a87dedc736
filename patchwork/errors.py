"""Small domain exceptions; the web layer maps each to a page, an htmx fragment or the JSON error body."""

from __future__ import annotations

REFUSAL_RULE = (
    'A refusal answers with `{"error": {"code", "message"}}` and one status by one rule: '
    "400 a body that cannot be read (`malformed_json`); 401 no valid token or wrong credentials; "
    "403 a permission the caller lacks on something they may see (`not_author`, `not_permitted`, `not_lead`, "
    "`second_factor_enrolment_required`); 404 anything the caller may not see, exactly as if it did not exist; "
    "409 a conflict with the current state (a duplicate, something already done or ended, a closed network); "
    "413 a body over 256 KiB; 415 a body that is not JSON; 422 invalid fields, each named in `fields`; "
    "429 too many attempts, with Retry-After."
)


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(DomainError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "Not found", *, code: str | None = None) -> None:
        super().__init__(message, code=code)


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Invalid(DomainError):
    """One or more fields are wrong; `fields` maps each field name to a message fit to show beside it."""

    status = 422
    code = "invalid"

    def __init__(self, fields: dict[str, str], message: str = "Some details need correcting") -> None:
        super().__init__(message)
        self.fields = fields


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
