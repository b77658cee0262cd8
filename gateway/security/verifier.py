"""Signature checks off the event loop: worker processes fed over pipes.

``SignatureVerifier.verify`` answers what ``protocols.httpsig.verify_request`` answers, for
one message whose key the gateway has already looked up. With ``workers`` > 0 (the setting
``signature_verify_workers``) the check runs in ``gateway.security.verify_worker``
processes, so on a machine with a second core the loop's thread spends on a signed message
only what the broker needs; with 0 it runs in-process.

Why pipes and not a ``ProcessPoolExecutor``: the pool moves every job through two helper
threads of this process (a feeder and a result handler), each of which must take the GIL
from the busy loop thread, up to the switch interval (5 ms) each time; at a thousand
messages a second that waiting was the latency. Here the loop itself writes the jobs (all
those of one loop iteration in one frame) and reads the verdicts as it reads sockets.

Nothing is lost when a worker fails: its jobs in flight are verified in-process, it is
started again on a later message (not within ``RESTART_DELAY`` of a failure), and until a
worker has said it is ready the checks run in-process as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import marshal
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.security.verify_worker import FRAME_HEAD, Job, Verdict, frame, verify_job
from protocols.httpsig import SignatureRejected, VerifiedSignature

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
RESTART_DELAY = 10.0
STOP_TIMEOUT = 5.0


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    ready: bool = False
    pending: dict[int, tuple[asyncio.Future[Verdict], Job]] = field(default_factory=dict)
    outbox: list[Job] = field(default_factory=list)
    reader: asyncio.Task | None = None


class SignatureVerifier:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._running: list[_Worker] = []
        self._starting: asyncio.Task | None = None
        self._last_failure = float("-inf")
        self._ids = itertools.count(1)
        self._flush_scheduled = False
        self._keys: dict[str, Ed25519PublicKey] = {}     # for checks made in-process
        self._closed = False

    async def verify(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
                     *, key_id: str | None, public_key: str | None,
                     max_age: timedelta) -> VerifiedSignature:
        """Raise ``SignatureRejected`` or return what verified. ``key_id``/``public_key``:
        the registered key the message claims (None: none is registered under its id)."""
        job: Job = (next(self._ids), method, url,
                    [(str(name), str(value)) for name, value in headers],   # plain str
                    bytes(body), key_id or "", public_key or "", max_age.total_seconds())
        worker = self._pick_worker()
        if worker is None:
            verdict = verify_job(job, self._keys)
        else:
            future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
            worker.pending[job[0]] = (future, job)
            worker.outbox.append(job)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
            verdict = await future
        return _result(verdict)

    def start(self) -> None:
        """Start a worker now (`libgate serve`), rather than with the first signed message;
        the rest start one after the other as messages come."""
        self._pick_worker()

    def _pick_worker(self) -> _Worker | None:
        ready = [w for w in self._running if w.ready]
        if len(self._running) < self.workers and not self._closed and self._starting is None \
                and time.monotonic() - self._last_failure >= RESTART_DELAY:
            self._starting = asyncio.ensure_future(self._start_one())
        if not ready:
            return None                     # in-process until a worker is ready
        return min(ready, key=lambda w: len(w.pending))

    def _flush(self) -> None:
        self._flush_scheduled = False
        for worker in self._running:
            if worker.outbox:
                jobs, worker.outbox = worker.outbox, []
                try:
                    worker.process.stdin.write(frame(jobs))
                except (ConnectionError, RuntimeError):     # it died; the reader fails over
                    pass
                except Exception:       # a bug here must not leave messages waiting forever
                    log.exception("could not hand %d signature check(s) to a worker",
                                  len(jobs))
                    for job in jobs:
                        future, _ = worker.pending.pop(job[0])
                        _settle(future, job, self._keys)

    async def _start_one(self) -> None:
        try:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.security.verify_worker",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env)
            worker = _Worker(process)
            self._running.append(worker)
            worker.reader = asyncio.ensure_future(self._read(worker))
        except OSError as exc:
            self._last_failure = time.monotonic()
            log.error("could not start a signature-verification worker: %s; verifying "
                      "in-process", exc)
        finally:
            self._starting = None

    async def _read(self, worker: _Worker) -> None:
        stream = worker.process.stdout
        try:
            while True:
                (size,) = FRAME_HEAD.unpack(await stream.readexactly(FRAME_HEAD.size))
                verdicts = marshal.loads(await stream.readexactly(size))
                if not verdicts:
                    worker.ready = True
                for verdict in verdicts:
                    waiting = worker.pending.pop(verdict[0], None)
                    if waiting is not None and not waiting[0].done():
                        waiting[0].set_result(verdict)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, EOFError) as exc:
            self._fail_over(worker, exc)

    def _fail_over(self, worker: _Worker, cause: BaseException) -> None:
        """A worker ended (or spoke nonsense): check its jobs here; drop it."""
        if worker in self._running:
            self._running.remove(worker)
        self._last_failure = time.monotonic()
        if not self._closed:
            log.error("signature-verification worker %s ended (%s); %d message(s) in flight "
                      "verified in-process", worker.process.pid, type(cause).__name__,
                      len(worker.pending))
        for future, job in worker.pending.values():
            if not future.done():
                _settle(future, job, self._keys)
        worker.pending.clear()
        if worker.process.returncode is None:
            worker.process.kill()

    async def close(self) -> None:
        self._closed = True
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        for worker in list(self._running):
            if worker.process.stdin is not None:
                worker.process.stdin.close()
            try:
                await asyncio.wait_for(worker.process.wait(), STOP_TIMEOUT)
            except asyncio.TimeoutError:
                worker.process.kill()
                await worker.process.wait()
            if worker.reader is not None:
                await worker.reader             # answers what was still in flight
        self._running.clear()

    @property
    def ready_workers(self) -> int:
        return sum(1 for w in self._running if w.ready)

    @property
    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._running]


def _settle(future: asyncio.Future[Verdict], job: Job,
            keys: dict[str, Ed25519PublicKey]) -> None:
    """Verify ``job`` here for whoever awaits ``future`` (its worker is gone)."""
    try:
        future.set_result(verify_job(job, keys))
    except Exception as exc:  # noqa: BLE001 - raised to the message's handler, not here
        future.set_exception(exc)


class VerificationFailed(RuntimeError):
    """The check itself failed in a worker (a bug, not a bad signature)."""


def _result(verdict: Verdict) -> VerifiedSignature:
    if verdict[1] == "rejected":
        raise SignatureRejected(verdict[2], verdict[3])
    if verdict[1] == "error":
        raise VerificationFailed(f"signature check failed in a worker: {verdict[2]}")
    _, _, key_id, nonce, created = verdict
    return VerifiedSignature(key_id=key_id, nonce=nonce,
                             created=datetime.fromtimestamp(created, tz=UTC))
