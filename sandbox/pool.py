"""Warm spares: sandboxes started ahead of time, each used for exactly one run.

A Python guest spends about 0.3 s importing numpy and pandas. A spare has done that already and waits,
ready, for its job; taking it starts a replacement at once, so the next run finds one too. Isolation is
unchanged: every run still gets its own bwrap, namespaces, tmpfs and process, never a process or a
/tmp that another run touched. ``AUSTER_SANDBOX_SPARES=0`` turns spares off (fresh process per run).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Callable

from sandbox.process import GuestProcess


class SparePool:
    """Keep ``size`` ready guests from ``factory``; thread-safe; forgets spares inherited across fork."""

    def __init__(self, factory: Callable[[], GuestProcess], size: int) -> None:
        self._factory = factory
        self._size = max(0, size)
        self._spares: list[GuestProcess] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        atexit.register(self.close)

    def take(self) -> tuple[GuestProcess, bool]:
        """A guest for one run and whether it was a spare (warm) rather than started now (cold)."""
        with self._lock:
            if os.getpid() != self._pid:  # a forked child must not share its parent's spares
                self._spares, self._pid = [], os.getpid()
            spare = None
            while self._spares and spare is None:
                candidate = self._spares.pop(0)
                if candidate.alive():
                    spare = candidate
                else:
                    candidate.close()
            self._fill()
        if spare is not None:
            return spare, True
        return self._factory(), False

    def prime(self) -> None:
        """Start the spares now (the first run would otherwise be cold)."""
        with self._lock:
            self._fill()

    def _fill(self) -> None:
        while len(self._spares) < self._size:
            self._spares.append(self._factory())

    def close(self) -> None:
        """Kill every waiting spare."""
        with self._lock:
            spares, self._spares = self._spares, []
        for spare in spares:
            with contextlib.suppress(Exception):
                spare.close()
