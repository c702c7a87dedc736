"""Structured logs: one JSON object a line, each carrying the request id it belongs to."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_QUERY_AFTER_PATH = re.compile(r"(/[^\s\"'?]*)\?[^\s\"']*")


def without_query_strings(text: str) -> str:
    """Text with the query string cut from every address in it: a query may carry a secret."""
    return _QUERY_AFTER_PATH.sub(r"\1", text)


class NoQueryStrings(logging.Filter):
    """Rewrites each record's message without query strings (uvicorn's handshake lines carry the full address)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = without_query_strings(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Patchwork's and uvicorn's loggers write one line a record to stderr, never with a query string."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(NoQueryStrings())
    for name in ("patchwork", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    uvicorn_errors = logging.getLogger("uvicorn.error")  # uvicorn.access stays off: the middleware logs requests
    uvicorn_errors.handlers[:] = []
    uvicorn_errors.propagate = True
