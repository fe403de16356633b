"""Realtime scheduling for the daemon's threads: on time even when other programs take the
cores.

Under two busy processes, an ordinary thread that wakes to play a note can wait tens of
milliseconds for a core. SCHED_FIFO threads run before every ordinary one. The daemon asks
for it before it starts any thread (threads inherit it; children of a fork do not), at a
priority below JACK's own threads (5 and up), so JACK always comes first. Nothing here
spins: every thread waits in the kernel between deadlines, so a realtime daemon takes no
more CPU than an ordinary one.
"""

from __future__ import annotations

import os

DAEMON_PRIORITY = 2  # SCHED_FIFO: above every ordinary process, below JACK's threads (5+)


def enter_realtime(priority: int = DAEMON_PRIORITY) -> str | None:
    """SCHED_FIFO at `priority` for the calling thread and the threads it starts from now
    on. Returns None when granted, else why not (the caller says so and carries on)."""
    if not hasattr(os, "sched_setscheduler"):
        return "this system has no SCHED_FIFO"
    policy = os.SCHED_FIFO | getattr(os, "SCHED_RESET_ON_FORK", 0)
    try:
        os.sched_setscheduler(0, policy, os.sched_param(priority))
    except OSError as e:
        return e.strerror or str(e)
    return None


def leave_realtime() -> None:
    """Back to ordinary scheduling for the calling thread."""
    if hasattr(os, "sched_setscheduler"):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
