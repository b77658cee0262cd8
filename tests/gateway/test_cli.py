"""The `libgate` command line, end to end through click, on both backends."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.sample_data import SAMPLE_MEMBERS, write_member_file
from tests.conftest import PG_URL, _pg_admin, require_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.db'}"
        return
    require_postgres()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    asyncio.run(_pg_admin(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?schema={schema}"
    asyncio.run(_pg_admin(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def libgate(db_url, tmp_path, monkeypatch):
    # the gateway key beside the SQLite file, or (PostgreSQL) in the test's folder, never in
    # the checkout
    monkeypatch.setenv("LIBGATE_GATEWAY_KEY_FILE", str(tmp_path / "gateway-key.pem"))
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, [*args, "--db", db_url], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result
    return run


def test_members_add_list_show_update_remove(libgate):
    libgate("members", "add", "SE-UMU", "--name", "Umeå University Library",
            "--oai", "https://oai.umu.example/oai", "--prefix", "marc21", "--set", "books",
            "--schedule", "0 2 * * *", "--iso18626", "https://ill.umu.example/iso18626",
            "--no-probe")
    listed = json.loads(libgate("members", "list", "--json").stdout)
    assert [(m["code"], [e["type"] for e in m["endpoints"]]) for m in listed] == [
        ("SE-UMU", ["oai-pmh", "iso18626"])]
    shown = json.loads(libgate("members", "show", "SE-UMU", "--json").stdout)
    assert shown["endpoints"][0]["set"] == "books"
    libgate("members", "update", "SE-UMU", "--status", "closed", "--reason", "flood")
    shown = json.loads(libgate("members", "show", "SE-UMU", "--json").stdout)
    assert (shown["status"], shown["status_reason"]) == ("closed", "flood")
    libgate("members", "remove", "SE-UMU", "--yes")
    assert json.loads(libgate("members", "list", "--json").stdout) == []


@pytest.mark.parametrize(("args", "fragment"), [
    (["--oai", "https://x.example/oai", "--schedule", "61 * * * *"],
     "bad cron expression '61 * * * *'"),
    (["--sru", "sru.example.org"], "malformed sru URL 'sru.example.org'"),
    (["--prefix", "marc21"], "--prefix and --set go with --oai URL"),
])
def test_members_add_refusals_name_the_value(libgate, args, fragment):
    result = libgate("members", "add", "US-DLC", "--name", "LC", *args, ok=False)
    assert result.exit_code == 1
    assert fragment in result.output
    assert "Traceback" not in result.output


def test_duplicate_member_code(libgate):
    libgate("members", "add", "US-DLC", "--name", "LC")
    result = libgate("members", "add", "US-DLC", "--name", "LC", ok=False)
    assert result.exit_code == 1 and "'US-DLC' already exists" in result.output


def test_ingest_then_stats_and_records_show(libgate, tmp_path):
    member = SAMPLE_MEMBERS[0]
    path = write_member_file(member, tmp_path)
    held = path.read_bytes().count(b"\x1d")
    libgate("members", "add", member.code, "--name", member.name, "--marc-file", str(path))
    report = json.loads(libgate("ingest", member.code, str(path), "--json").stdout)
    assert (report["records_read"], report["added"], report["quarantined"]) == (held, held, 0)
    again = json.loads(libgate("ingest", member.code, str(path), "--json").stdout)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, held)

    stats = json.loads(libgate("stats", "--json").stdout)
    assert stats["records"] == held
    assert stats["members"] == [{"code": member.code, "status": "open", "records": held,
                                 "deleted": 0, "quarantined": 0,
                                 "holdings": stats["members"][0]["holdings"]}]
    assert stats["members"][0]["holdings"] >= held

    served = json.loads(libgate("serve", "--get", "/api/stats").stdout)
    assert served["records"] == held
    shown = libgate("records", "show", member.code, "nfu00000").output
    assert "Pride and prejudice" in shown and "=245  10$aPride and prejudice" in shown


def test_config_file_errors_name_file_key_and_value(tmp_path, db_url):
    bad = tmp_path / "consortium.toml"
    bad.write_text('[gateway]\nport = "eighty"\n')
    result = CliRunner().invoke(main, ["--config", str(bad), "--db", db_url, "settings"])
    assert result.exit_code == 1
    assert str(bad) in result.output and "'port'" in result.output and "'eighty'" in result.output


def test_serve_get_prints_one_answer(libgate):
    libgate("members", "add", "US-DLC", "--name", "Library of Congress")
    result = libgate("serve", "--get", "/api/members")
    assert json.loads(result.stdout)[0]["code"] == "US-DLC"
    missing = libgate("serve", "--get", "/api/members/NOPE", ok=False)
    assert missing.exit_code == 1 and "NOPE" in missing.output
