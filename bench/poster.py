"""The fan-out bench's poster, in a process of its own.

Posting is then not held up by the clients' work of reading their frames, just as a real poster (another person
on another machine) is not. Times are `time.perf_counter`, which on Linux is CLOCK_MONOTONIC and so shared by
every process on the machine: the parent compares them with the arrivals its clients record.

Run as `python -m bench.poster`, with a JSON job on standard input (the token is not put on a command
line) and the JSON result on standard output.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def shared_clock() -> bool:
    """Whether perf_counter readings of two processes on this machine can be compared."""
    return time.get_clock_info("perf_counter").implementation == "clock_gettime(CLOCK_MONOTONIC)"


def run_fast(work: Coroutine[Any, Any, T]) -> T:
    """Run a bench client on uvloop when it is installed, as uvicorn runs the server, so that the figures are the
    server's more than the client's own event loop's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(work)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(work)


async def _post(job: dict[str, Any]) -> dict[str, Any]:
    from bench.fanout import post_many
    from bench.signin import _client

    async with _client(str(job["base"]), 1) as http:
        sent, took_ms = await post_many(
            http, str(job["token"]), str(job["network_id"]), int(job["count"]), float(job["interval"])
        )
    return {"sent": sent, "post_ms": took_ms}


def main() -> int:
    job = json.loads(sys.stdin.read())
    print(json.dumps(run_fast(_post(job))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
