"""Signature checks in worker processes (``gateway.security.verifier``): the same verdicts as
in-process for every kind of refusal, nothing lost when a worker dies, no worker left behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal

import pytest

from gateway.security import verifier as verifier_module
from gateway.security.verifier import SignatureVerifier
from protocols import httpsig
from tests.gateway.ill_consortium import PEER_LENDERS, consortium  # noqa: F401 (fixture)

URL = "http://gateway.example/iso18626"
BODY = b"<ISO18626Message/>"
MAX_AGE = dt.timedelta(minutes=5)
KEY_ID = "US-LA#k1"
LA = httpsig.new_private_key()
LA_PUBLIC = httpsig.public_key_text(LA.public_key())
OTHER = httpsig.new_private_key()


def signed(body: bytes = BODY, *, key=LA, key_id: str = KEY_ID, url: str = URL,
           created: dt.datetime | None = None) -> list[tuple[str, str]]:
    return list(httpsig.sign_request("POST", url, {"Content-Type": "application/xml"}, body,
                                     key_id=key_id, private_key=key, created=created).items())


def cases() -> dict:
    """name: (headers, body, key id registered for it, expected reason or None: accepted),
    signed now (a signature made at import would have expired by the time a long test run
    gets here)."""
    return {
        "valid": (signed(), BODY, KEY_ID, None),
        "forged": (signed(key=OTHER), BODY, KEY_ID, "bad-signature"),
        "unknown-key": (signed(key_id="US-LA#k9"), BODY, None, "unknown-key"),
        "expired": (signed(created=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)), BODY,
                    KEY_ID, "expired"),
        "body-swapped": (signed(), b"<other/>", KEY_ID, "digest-mismatch"),
        "other-url": (signed(url="http://elsewhere.example/iso18626"), BODY, KEY_ID,
                      "bad-signature"),
        "unsigned": ([("Content-Type", "application/xml")], BODY, KEY_ID, "unsigned"),
    }


CASES = cases()     # names and expectations; tests sign afresh with cases()


async def _verdict(verifier: SignatureVerifier, case: str, table: dict | None = None):
    headers, body, key_id, _ = (table or cases())[case]
    try:
        return await verifier.verify("POST", URL, headers, body, key_id=key_id,
                                     public_key=LA_PUBLIC if key_id else None, max_age=MAX_AGE)
    except httpsig.SignatureRejected as exc:
        return exc.reason


async def _ready(verifier: SignatureVerifier) -> None:
    await _verdict(verifier, "valid")                # the first message starts a worker
    for _ in range(200):
        if any(w.ready for w in verifier._running):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the verification worker never became ready")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:                        # a zombie is gone for our purpose
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_a_worker_gives_the_verdicts_the_gateway_gives_itself():
    in_process = SignatureVerifier(0)
    pooled = SignatureVerifier(1)
    try:
        await _ready(pooled)
        table = cases()
        here = {case: await _verdict(in_process, case, table) for case in table}
        there = dict(zip(table, await asyncio.gather(*[_verdict(pooled, c, table)
                                                       for c in table])))
    finally:
        await pooled.close()
    for case, (_, _, _, expected) in CASES.items():
        if expected is None:
            assert here[case].key_id == there[case].key_id == KEY_ID
            assert here[case].nonce == there[case].nonce
            assert here[case].created == there[case].created
        else:
            assert here[case] == there[case] == expected, case
    assert pooled.worker_pids == []


async def test_messages_in_flight_when_a_worker_dies_are_verified_in_process(monkeypatch,
                                                                              caplog):
    monkeypatch.setattr(verifier_module, "RESTART_DELAY", 0.0)
    pooled = SignatureVerifier(1)
    try:
        await _ready(pooled)
        (pid,) = pooled.worker_pids
        table = cases()
        names = list(table) * 20
        verdicts = asyncio.gather(*[_verdict(pooled, case, table) for case in names])
        await asyncio.sleep(0)                     # handed to the worker ...
        os.kill(pid, signal.SIGKILL)               # ... which dies with them
        results = await asyncio.wait_for(verdicts, 30)
        for case, result in zip(names, results):
            expected = CASES[case][3]
            assert (result.key_id if expected is None else result) == (expected or KEY_ID)
        assert "verified in-process" in caplog.text and f"worker {pid} ended" in caplog.text
        await _ready(pooled)                        # a new worker takes over
        assert pooled.worker_pids and pooled.worker_pids != [pid]
    finally:
        await pooled.close()


async def test_workers_start_one_after_the_other_and_end_with_the_verifier():
    pooled = SignatureVerifier(2)
    await _ready(pooled)
    for _ in range(200):                  # the second starts once the first has started
        if len(pooled.worker_pids) == 2:
            break
        await _verdict(pooled, "valid")
        await asyncio.sleep(0.02)
    pids = pooled.worker_pids
    assert len(pids) == 2
    await pooled.close()
    assert not any(_alive(pid) for pid in pids)


async def test_no_worker_means_no_process():
    verifier = SignatureVerifier(0)
    assert (await _verdict(verifier, "valid")).key_id == KEY_ID
    assert verifier.worker_pids == []


@pytest.mark.parametrize("case", ["forged", "expired"])
async def test_the_gateway_refuses_through_its_worker(consortium, case):
    """The app's verifier (one worker by default here) refuses as the in-process check does."""
    from gateway.keys import VERIFIER
    from protocols.iso18626.codec import encode
    from protocols.iso18626.codes import Status

    c = consortium
    verifier = c.app[VERIFIER]
    assert verifier.workers >= 1
    await _ready_app(verifier)
    created = await c.request()
    la, lb = c.peers[PEER_LENDERS[0]], c.peers[PEER_LENDERS[1]]
    body = encode(la.status_message(created["ref"], Status.LOANED))
    headers = la.sign(body, private_key=lb.private_key) if case == "forged" else \
        la.sign(body, created=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    status, answer = await la.post(body, headers)
    assert status == 401 and ("bad-signature" if case == "forged" else "expired") in \
        answer.decode()
    assert verifier.worker_pids


async def _ready_app(verifier: SignatureVerifier) -> None:
    verifier.start()
    for _ in range(200):
        if any(w.ready for w in verifier._running):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the app's verification worker never became ready")


async def test_a_check_that_breaks_fails_its_own_message_only():
    """A registered key the worker cannot read is an error of that message (the gateway
    answers 500); the worker and the other messages in flight carry on."""
    pooled = SignatureVerifier(1)
    try:
        await _ready(pooled)
        (pid,) = pooled.worker_pids
        headers, body = cases()["valid"][:2]
        broken, fine = await asyncio.gather(
            pooled.verify("POST", URL, headers, body, key_id=KEY_ID, public_key="not a key",
                          max_age=MAX_AGE),
            _verdict(pooled, "valid"), return_exceptions=True)
        assert isinstance(broken, verifier_module.VerificationFailed)
        assert "not base64url" in str(broken) or "32 bytes" in str(broken)
        assert fine.key_id == KEY_ID
        assert pooled.worker_pids == [pid]
    finally:
        await pooled.close()
