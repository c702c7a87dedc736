"""What the benches read about server processes from /proc: the process tree, its CPU time and memory, and the
CPUs a server and its clients are pinned to so that one does not take the other's core."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Split:
    """The server's CPUs and the clients' CPUs; `pinned` is False when the machine has too few to split."""

    server: frozenset[int]
    clients: frozenset[int]
    pinned: bool

    def describe(self) -> str:
        if not self.pinned:
            return "not pinned: fewer than 2 CPUs available, server and clients share them"
        return f"server pinned to CPU {_cpus(self.server)}, clients and poster to CPU {_cpus(self.clients)}"


def split_cpus(enabled: bool = True) -> Split:
    """CPU 0 (the first available) for the server, the next for the clients, when at least two are available."""
    available = sorted(_available())
    if not enabled or len(available) < 2:
        every = frozenset(available)
        return Split(every, every, pinned=False)
    return Split(frozenset({available[0]}), frozenset({available[1]}), pinned=True)


def pinned_command(command: Sequence[str], cpus: frozenset[int] | None) -> list[str]:
    """The command run on `cpus` only (through taskset, so every thread and child it starts is pinned too)."""
    if not cpus:
        return list(command)
    taskset = shutil.which("taskset")
    if taskset is None:
        raise RuntimeError("pinning a server needs taskset (util-linux)")
    return [taskset, "-c", _cpus(cpus), *command]


@contextlib.contextmanager
def running_on(cpus: frozenset[int] | None) -> Iterator[None]:
    """This process's main thread, and the threads and processes it starts meanwhile, on `cpus`; restored after."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def tree(pid: int | None) -> list[int]:
    """A process and all its descendants (uvicorn's workers, say), the process first; empty if it is gone."""
    if pid is None or not Path(f"/proc/{pid}").exists():
        return []
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    family, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        children = sorted(child for child, of in parents.items() if of == parent and child not in family)
        family.extend(children)
        frontier.extend(children)
    return family


def role(pid: int, members: Sequence[int]) -> str:
    """What a member of a server's tree is: its supervisor, a worker, or a helper (multiprocessing's resource
    tracker, say)."""
    if len(members) == 1:
        return "worker"
    if pid == members[0]:
        return "supervisor"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return "gone"
    return "helper" if b"resource_tracker" in command else "worker"


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of one process (all its threads), in seconds; None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def cpu_by_process(pids: Sequence[int]) -> dict[int, float]:
    found = {pid: cpu_seconds(pid) for pid in pids}
    return {pid: seconds for pid, seconds in found.items() if seconds is not None}


def tree_cpu_seconds(pid: int | None) -> float | None:
    """CPU time of a process tree: what its living members have used so far."""
    members = tree(pid)
    return sum(cpu_by_process(members).values()) if members else None


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def sockets(pid: int) -> int | None:
    """How many sockets a process holds open (its listening socket included)."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    count = 0
    for name in names:
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:")
    return count


def machine_busy_ticks() -> tuple[int, int] | None:
    """Busy and total ticks of every CPU together since boot (from /proc/stat), to compare two readings."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    ticks = [int(value) for value in first[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def busy_fraction(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 3)


def _available() -> set[int]:
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def _cpus(cpus: frozenset[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))
