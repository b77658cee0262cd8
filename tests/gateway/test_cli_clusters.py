"""`libgate clusters …` end to end through click, on both backends, on real files."""

from __future__ import annotations

import json

from tests.gateway.test_cli import db_url, libgate  # noqa: F401  (fixtures)
from tests.shared_data import require_shared


def test_clusters_commands(libgate):
    bin_ = require_shared("data", "marc", "openlibrary", "bin_input",
                          "cu31924091184469_meta.mrc")
    xml = require_shared("data", "marc", "openlibrary", "xml_input",
                         "cu31924091184469_marc.xml")
    libgate("members", "add", "US-OLB", "--name", "Open Library scans")
    libgate("members", "add", "US-OLX", "--name", "Open Library MARCXML")
    libgate("ingest", "US-OLB", str(bin_))
    libgate("ingest", "US-OLX", str(xml))
    record = json.loads(libgate("records", "show", "US-OLB", "4291884", "--json").output)
    cid = record["cluster_id"]
    assert json.loads(libgate("stats", "--json").output)["clusters"] == 1
    shown = json.loads(libgate("clusters", "show", str(cid), "--json").output)
    assert shown["record_count"] == 2 and shown["merged"]["title"] == "The Iliad of Homer"
    text = libgate("clusters", "explain", str(cid)).output
    assert "US-OLB:4291884 ~ US-OLX:4291884" in text
    split = json.loads(libgate("clusters", "split", str(cid), "US-OLX", "4291884",
                               "--reason", "test", "--json").output)
    other = split["new_cluster_id"]
    assert other != cid
    rebuilt = json.loads(libgate("clusters", "rebuild", "--json").output)
    assert rebuilt["records"] == 2 and rebuilt["clusters"] == 2
    assert json.loads(libgate("clusters", "check", "--json").output)["consistent"]
    merged = json.loads(libgate("clusters", "merge", str(cid), str(other), "--json").output)
    assert merged["cluster_id"] in (cid, other)
    assert json.loads(libgate("stats", "--json").output)["clusters"] == 1
    missing = libgate("clusters", "show", "999999", ok=False)
    assert missing.exit_code == 1 and "no cluster 999999" in missing.output
