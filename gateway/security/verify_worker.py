"""A signature-verification worker process: ``python -m gateway.security.verify_worker``.

Checking an RFC 9421 signature costs ~0.5 ms of CPU per message, two thirds of it the
pure-Python structured-field parsing of ``http-message-signatures`` and one third Ed25519.
On the event loop's thread that is as much as everything else the broker does with a
message, so the gateway hands it to this process (``gateway.security.verifier``) and the
loop goes on with other messages meanwhile.

The process speaks over its stdin and stdout, nothing else: frames of a 4-byte big-endian
length and a ``marshal``-ed list (of jobs in, of verdicts out). marshal carries only plain
values (it cannot build objects or run code) and the only peer is the parent that started
us. The first frame out is the empty list: "ready". Whatever else writes to stdout (a stray
print, a warning) goes to stderr instead, so it can never corrupt a frame. The worker ends
when its stdin closes: the parent shut it down, or died (and then the kernel's
parent-death signal ends it even in the middle of a batch).
"""

from __future__ import annotations

import datetime as dt
import marshal
import os
import struct
import sys
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocols.httpsig import SignatureRejected, load_public_key, verify_request

FRAME_HEAD = struct.Struct(">I")
MAX_CACHED_KEYS = 1024
VERDICTS_PER_FRAME = 4

# job:     (job_id, method, url, [(name, value), ...], body, key_id, public_key_text, max_age_s)
# verdict: (job_id, "ok", key_id, nonce, created_unix) | (job_id, "rejected", reason, detail)
#          | (job_id, "error", text): the check itself failed (a bug), not the signature
Job = tuple[int, str, str, list[tuple[str, str]], bytes, str, str, float]
Verdict = tuple


def verify_job(job: Job, keys: dict[str, Ed25519PublicKey]) -> Verdict:
    """One job's verdict; the same function runs in a worker and, as a fallback, in the
    gateway. ``key_id`` is the one key the gateway looked up for the message (empty: none
    is registered): a signature under any other key id is refused as unknown-key."""
    job_id, method, url, headers, body, key_id, key_text, max_age = job
    public = None
    if key_id and key_text:
        public = keys.get(key_text)
        if public is None:
            if len(keys) >= MAX_CACHED_KEYS:
                keys.clear()
            public = keys[key_text] = load_public_key(key_text)

    def resolve(kid: str) -> Ed25519PublicKey | None:
        return public if kid == key_id else None

    try:
        verified = verify_request(method, url, headers, body, resolve_key=resolve,
                                  max_age=dt.timedelta(seconds=max_age))
    except SignatureRejected as exc:
        return (job_id, "rejected", exc.reason, exc.detail)
    return (job_id, "ok", verified.key_id, verified.nonce, verified.created.timestamp())


def read_frame(stream: BinaryIO) -> list | None:
    head = stream.read(FRAME_HEAD.size)
    if len(head) < FRAME_HEAD.size:
        return None
    (size,) = FRAME_HEAD.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return marshal.loads(data)


def frame(items: list) -> bytes:
    data = marshal.dumps(items)
    return FRAME_HEAD.pack(len(data)) + data


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    keys: dict[str, Ed25519PublicKey] = {}
    out.write(frame([]))                    # ready
    out.flush()
    while (jobs := read_frame(inp)) is not None:
        # verdicts go out a few at a time: the gateway goes on with those messages while
        # this process checks the next ones (one frame for the whole batch made the two
        # processes take turns, each idle while the other worked; one frame per verdict
        # woke the gateway for every message)
        for start in range(0, len(jobs), VERDICTS_PER_FRAME):
            out.write(frame([_verdict_or_error(job, keys)
                             for job in jobs[start:start + VERDICTS_PER_FRAME]]))
            out.flush()


def _verdict_or_error(job: Job, keys: dict[str, Ed25519PublicKey]) -> Verdict:
    """A bug must cost its own message only, not the worker and every message in flight."""
    try:
        return verify_job(job, keys)
    except Exception as exc:  # noqa: BLE001 - reported to the gateway, which raises it
        return (job[0], "error", f"{type(exc).__name__}: {exc}")


def main() -> None:
    from gateway.workers import die_with_parent

    die_with_parent(os.getppid())
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())      # stray output goes to stderr
    try:
        serve(sys.stdin.buffer, out)
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
