"""Worker processes (validate and build check files in several) that end with their parent.

A worker forked by a process that is then killed (`kill -9`, the out-of-memory killer, a CI
time limit) would wait for work forever, holding the output pipes open, so whatever ran the
command would wait for it too. On Linux the kernel kills each worker when its parent dies.
"""

from __future__ import annotations

import gc
import os
import signal

_PR_SET_PDEATHSIG = 1


def start_worker(parent: int) -> None:
    """Set up a worker process forked by `parent`: it dies with it, and what it inherited is
    left out of the cycle collector's walks (it stays alive as long as the worker does)."""
    _die_with(parent)
    gc.freeze()


def _die_with(parent: int) -> None:
    import ctypes  # only in workers: a validate of a few files starts none

    try:  # the process's own symbols hold libc's (no library search, which runs ldconfig)
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: no such call
        return
    if os.getppid() != parent:  # the parent died before the call above: nobody would tell
        os._exit(1)


def shrinking_batches(count: int, workers: int, smallest: int = 8) -> list[tuple[int, int]]:
    """(start, end) of batches of `count` items for `workers` processes, each a third of a
    worker's share of what is left, down to `smallest`: big batches first (each costs a
    round trip), small ones last, so the workers finish together instead of one of them
    working alone through a long last batch (agreements differ in cost several times over)."""
    spans = []
    at = 0
    while at < count:
        size = max(smallest, -(-(count - at) // (workers * 3)))
        spans.append((at, min(count, at + size)))
        at += size
    return spans
