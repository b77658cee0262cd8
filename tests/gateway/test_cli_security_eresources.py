"""`libgate members keygen|keys|status|policy`, `tokens`, `eresources load`, `emergency`,
`posture`, `copyright`, `grants` — end to end through click, on both backends."""

from __future__ import annotations

import json

from protocols.eresources.kbart import COLUMNS
from tests.gateway.test_cli import db_url, libgate  # noqa: F401  (fixtures)


def test_keygen_rotates_and_writes_the_private_key_once(libgate, tmp_path):
    libgate("members", "add", "US-AAA", "--name", "A")
    libgate("members", "keygen", "US-AAA", "--out", str(tmp_path / "k1.pem"))
    second = json.loads(libgate("members", "keygen", "US-AAA", "--json").output)
    keys = json.loads(libgate("members", "keys", "US-AAA", "--json").output)
    assert second["key_id"] == "US-AAA#k2"
    assert [(k["key_id"], k["valid_until"] is None) for k in keys] == [
        ("US-AAA#k1", False), ("US-AAA#k2", True)]
    assert (tmp_path / "k1.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "k1.pem").stat().st_mode & 0o777 == 0o600


def test_tokens_are_shown_once_listed_without_secret_and_revoked(libgate):
    libgate("members", "add", "US-AAA", "--name", "A")
    token = libgate("tokens", "create", "US-AAA", "--role", "staff").output.strip().splitlines()[-1]
    assert token.startswith("lgt_")
    listed = libgate("tokens", "list", "--json").output
    assert token not in listed and json.loads(listed)[0]["member"] == "US-AAA"
    libgate("tokens", "revoke", "1")
    again = libgate("tokens", "revoke", "1", ok=False)
    assert again.exit_code == 1 and "no active token with id 1" in again.output


def test_eresources_status_emergency_posture_copyright(libgate, tmp_path, monkeypatch):
    monkeypatch.setenv("LIBGATE_GATEWAY_KEY_FILE", str(tmp_path / "gateway.pem"))
    libgate("members", "add", "US-AAA", "--name", "A")
    kbart = tmp_path / "Springer_Global_AllTitles_2026-11-01.txt"
    good = ["Nature", "0028-0836", "1476-4687"] + [""] * (len(COLUMNS) - 3)
    bad = ["Broken", "x", ""] + [""] * (len(COLUMNS) - 3)
    kbart.write_text("\n".join("\t".join(r) for r in (COLUMNS, good, bad)) + "\n")
    licence = tmp_path / "lic.toml"
    licence.write_text('[[licence]]\npackage = "Springer"\nillElectronic = "Permitted (explicit)"\n')
    loaded = json.loads(libgate("eresources", "load", "US-AAA", str(kbart), "--package",
                                "Springer", "--licence", str(licence), "--json", ok=False).output)
    assert (loaded["loaded"], loaded["licences"]) == (1, 1)
    assert loaded["problems"][0]["line"] == 3
    libgate("members", "status", "US-AAA", "closed", "--reason", "flood")
    libgate("emergency", "declare", "--note", "pandemic")
    assert "of 0 works" in libgate("posture").output
    closed = json.loads(libgate("ill", "closed-loans", "--json").output)
    assert closed == {"closed": ["US-AAA"], "loans": []}
    renew = libgate("etas", "renew", "7", ok=False)
    assert renew.exit_code == 1 and "checkout 7 is not active" in renew.output
    summary = json.loads(libgate("posture", "--json").output)
    assert summary["members"]["closed"] == ["US-AAA"]
    assert summary["emergency"]["note"] == "pandemic"
    assert libgate("emergency", "declare", ok=False).exit_code == 1
    report = json.loads(libgate("copyright", "report", "US-AAA", "2026", "--json").output)
    assert report == {"member": "US-AAA", "year": 2026, "titles": [], "flagged": 0}
    assert libgate("grants", "issue", "US-AAA", "https://x", "--user", "p").output.count(".") == 2


def test_a_copy_of_an_article_from_the_cli_routes_by_licence_and_accepted_print(
        libgate, tmp_path, monkeypatch):
    monkeypatch.setenv("LIBGATE_GATEWAY_KEY_FILE", str(tmp_path / "gateway.pem"))
    for code in ("US-AAA", "US-BBB"):
        libgate("members", "add", code, "--name", code)
    row = dict.fromkeys(COLUMNS, "") | {
        "publication_title": "Acta Mathematica", "print_identifier": "0001-5962",
        "date_first_issue_online": "1882-12-01", "num_first_vol_online": "1",
        "date_last_issue_online": "2016-12-31", "num_last_vol_online": "217"}
    kbart = tmp_path / "acta.txt"
    kbart.write_text("\t".join(COLUMNS) + "\r\n" + "\t".join(row.values()) + "\r\n")
    licence = tmp_path / "print.toml"
    licence.write_text('[[licence]]\npackage = "acta"\nillElectronic = "Prohibited (explicit)"\n'
                       'illPrint = "Permitted (explicit)"\n')
    libgate("eresources", "load", "US-AAA", str(kbart), "--licence", str(licence))

    def ask(*extra: str) -> dict:
        return json.loads(libgate(
            "ill", "request", "--as", "US-BBB", "--service", "Copy", "--issn", "0001-5962",
            "--title", "Acta Mathematica", "--article-title", "On a theorem", "--year", "2010",
            "--volume", "204", "--pages", "1-20", "--json", *extra).output)
    refused = ask("--patron", "p1")
    assert refused["state"] == "no-lenders"
    assert "illElectronic: Prohibited (explicit)" in refused["excluded"][0]["reason"]
    printed = ask("--patron", "p2", "--accept-print")
    assert [(e["member"], e["term"]) for e in printed["rota"]] == [("US-AAA", "illPrint")]
