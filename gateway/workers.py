"""Worker processes for CPU work of the gateway (harvest pages, `clusters rebuild`).

One way to start them: the ``spawn`` context, so a worker inherits none of the event loop's
threads and sockets and is a child of this process (which it can watch); an initializer that
makes it die with that process. Work is a pure function of picklable arguments, the same
in-process and in a worker.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from gateway.garbage_collection import collect_oldest_rarely

PR_SET_PDEATHSIG = 1        # <linux/prctl.h>
PARENT_POLL_SECONDS = 0.5
T = TypeVar("T")


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: never outlive the parent process, even when it is SIGKILLed.

    A pool worker blocks reading its call queue, whose write end it holds itself, so a
    killed parent would leave it waiting forever (holding the parent's stdout and stderr,
    so whoever waits for those waits too). On Linux the kernel sends SIGKILL when the
    parent dies (PR_SET_PDEATHSIG; the parent is the pool's own process under the
    ``spawn`` context); everywhere a daemon thread also exits the worker once its parent
    pid changes (re-parented to init or a subreaper).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass                # the polling thread below still covers it
    if os.getppid() != parent_pid:
        os._exit(1)             # the parent died before the signal was armed

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="libgate-parent-watch", daemon=True).start()


def start_pool_worker(parent_pid: int) -> None:
    """Initializer of a ``spawn_pool`` worker: it dies with its parent, and collects its
    oldest generation rarely (its batches keep thousands of objects alive, as a harvest's
    pages do in the parent: ``gateway.garbage_collection``)."""
    die_with_parent(parent_pid)
    collect_oldest_rarely()


def spawn_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` spawned processes that die with this one."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=start_pool_worker, initargs=(os.getpid(),))


class Offload:
    """Pure functions run in ``workers`` spawned processes, or in this one (``workers`` 0).

    ``submit`` returns an asyncio future either way, so a caller can keep a few pieces of
    work in flight and take their results in order while it awaits the database."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = spawn_pool(workers) if workers > 0 else None

    def submit(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        if self._pool is not None:
            return asyncio.wrap_future(self._pool.submit(function, *args))
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(function(*args))
        except Exception as error:       # handed to whoever awaits the result
            future.set_exception(error)
        return future

    def close(self) -> None:
        """Stop the workers (what is queued is dropped; a piece of work running is short)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Offload:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def discard(futures: Iterable[asyncio.Future[Any]]) -> None:
    """Give up on work in flight (the caller failed): cancel what has not finished, and take
    the error of what has, so none is logged as never retrieved."""
    for future in futures:
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            future.exception()
