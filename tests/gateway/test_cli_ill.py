"""`libgate ill request|list|show|act|advance` through click, on both backends."""

from __future__ import annotations

import asyncio
import json

from gateway.store import open_store
from tests.gateway.ill_consortium import add_cluster
from tests.gateway.test_cli import db_url, libgate  # noqa: F401  (fixtures)


def _cluster(url: str, holders: list[str]) -> int:
    async def make() -> int:
        store = await open_store(url)
        try:
            return await add_cluster(store, holders)
        finally:
            await store.close()
    return asyncio.run(make())


def test_request_act_list_show_advance(libgate, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LIBGATE_GATEWAY_KEY_FILE", str(tmp_path / "gateway.pem"))
    for code in ("US-BOR", "US-LE", "US-LF"):
        libgate("members", "add", code, "--name", code)
    cluster = _cluster(db_url, ["US-LE", "US-LF"])
    made = json.loads(libgate("ill", "request", "--as", "US-BOR", "--cluster", str(cluster),
                              "--patron", "p-1", "--json").output)
    assert (made["state"], made["supplier"]) == ("in-progress", "US-LE")
    assert [e["member"] for e in made["rota"]] == ["US-LE", "US-LF"]
    shown = libgate("ill", "show", str(made["id"]), "--as", "US-BOR").output
    assert made["ref"] in shown and "US-LF" in shown
    refused = libgate("ill", "act", str(made["id"]), "WillSupply", "--as", "US-LF", ok=False)
    assert refused.exit_code == 1 and "no ILL request" in refused.output
    answered = json.loads(libgate("ill", "act", str(made["id"]), "Unfilled", "--as", "US-LE",
                                  "--reason", "NotOnShelf", "--json").output)
    assert answered["supplier"] == "US-LF" and answered["rota"][0]["outcome"] == "unfilled"
    lending = json.loads(libgate("ill", "list", "--as", "US-LF", "--role", "lending",
                                 "--json").output)
    assert [r["ref"] for r in lending] == [made["ref"]]
    assert "0 request(s) moved" in libgate("ill", "advance").output
