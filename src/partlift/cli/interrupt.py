"""Ctrl-C (SIGINT) for the ``partlift`` program: exit status 130, cleanly, at any stage.

Why a plain ``except KeyboardInterrupt`` was not enough (issue 13, item 5): scipy's
``cKDTree.query(..., workers=-1)`` (normals, superpoint graphs) runs its work in daemon Python
threads (``_thread_func``) and waits for them in the main thread. Ctrl-C interrupts that wait,
the main thread unwinds (freeing the query's arrays) and prints "interrupted", while those
threads still write into the freed arrays: ``Fatal Python error: Segmentation fault`` in a
``_thread_func`` thread (reproduced with SIGINT 8-20 s into ``segment`` of a 400k-point cloud).
So the SIGINT handler never raises while such a worker thread is alive (:func:`_workers_busy`):
it records the interrupt, and a SIGALRM timer raises it as soon as the workers are done (a
query takes well under a second to a few seconds). The program ends with :func:`exit_process`
— flush, then ``os._exit`` — so no interpreter finaliser runs beside a thread in C code.

Two more holes are closed by :func:`catching_sigint`: a library that swallows
``KeyboardInterrupt`` (measured: a Ctrl-C during scipy's threaded kd-tree query in the normals
stage vanished and the run went on for a minute, then exited 0) is handled by raising it again
every :data:`REPEAT_SECONDS` until the command has unwound, and a Ctrl-C after the command has returned (while the output is
committed or the interpreter exits) used to kill the process by signal (status -2). The handler
records every SIGINT; :meth:`SigintFlag.checked` turns a finished command that was interrupted
into a KeyboardInterrupt (status 130, outputs discarded), and after the command further SIGINTs
are only recorded.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, NoReturn

EXIT_INTERRUPTED = 130
# How long to wait for worker threads after Ctrl-C before leaving without them (in-process
# callers of ``main(argv)`` only: the program itself leaves with os._exit, which needs no wait).
SETTLE_SECONDS = 30.0
# After a Ctrl-C, KeyboardInterrupt is raised again this often until the command has unwound.
REPEAT_SECONDS = 0.5


class SigintFlag:
    """Whether SIGINT arrived while :func:`catching_sigint` was active."""

    def __init__(self) -> None:
        self.count = 0
        self.raising = True

    def handler(self, *_signal: Any) -> None:
        """The SIGINT handler (``signal.signal`` passes the signal number and the frame)."""
        self.count += 1
        if self.raising and self.count == 1:
            with contextlib.suppress(ValueError, OSError, AttributeError):
                signal.setitimer(signal.ITIMER_REAL, REPEAT_SECONDS, REPEAT_SECONDS)
            if not _workers_busy():
                raise KeyboardInterrupt
            with contextlib.suppress(Exception):
                sys.stderr.write("partlift: interrupting once the running kd-tree query ends ...\n")

    def repeat(self, *_signal: Any) -> None:
        """The SIGALRM handler: raise KeyboardInterrupt (again) while the command still runs."""
        if self.raising and not _workers_busy():
            raise KeyboardInterrupt

    def stop(self) -> None:
        """The outcome is decided: no more KeyboardInterrupts from here on."""
        self.raising = False
        with contextlib.suppress(ValueError, OSError, AttributeError):
            signal.setitimer(signal.ITIMER_REAL, 0, 0)

    def checked(self, status: int) -> int:
        """``status``, or KeyboardInterrupt if a SIGINT came (and was swallowed) meanwhile."""
        if self.count and status != EXIT_INTERRUPTED:
            raise KeyboardInterrupt
        return status


def _workers_busy() -> bool:
    """True while a scipy kd-tree worker thread (``Thread-N (_thread_func)``) is alive."""
    return any(t.name.endswith("(_thread_func)") and t.is_alive() for t in threading.enumerate())


@contextlib.contextmanager
def catching_sigint() -> Iterator[SigintFlag]:
    """Route SIGINT to a :class:`SigintFlag` for the block (main thread only; else a no-op flag)."""
    flag = SigintFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    try:
        previous = signal.signal(signal.SIGINT, flag.handler)
        previous_alarm = signal.signal(signal.SIGALRM, flag.repeat)
    except (ValueError, OSError):  # pragma: no cover - no signals in this interpreter
        yield flag
        return
    try:
        yield flag
    finally:
        flag.stop()
        signal.signal(signal.SIGALRM, previous_alarm)
        signal.signal(signal.SIGINT, previous)


def settle_threads(timeout: float = SETTLE_SECONDS) -> None:
    """Wait (up to ``timeout`` seconds in all) for the other live threads to finish."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread is threading.current_thread() or not thread.is_alive():
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        with contextlib.suppress(KeyboardInterrupt):
            thread.join(remaining)


def exit_process(status: int) -> NoReturn:
    """End the program with ``status`` after flushing, without interpreter finalisation.

    SIGINT is ignored from here on (the outcome is decided). ``os._exit`` skips the finalisers
    that crashed beside still-running worker threads (module docstring).
    """
    import os

    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging_shutdown()
    os._exit(status)


def logging_shutdown() -> None:
    """Flush and close logging handlers (what interpreter exit would have done)."""
    import logging

    with contextlib.suppress(Exception):
        logging.shutdown()
