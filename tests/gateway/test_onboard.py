"""`libgate onboard`: register, harvest, cluster and count in one command (both backends)."""

from __future__ import annotations

import json

from tests.gateway.test_cli import db_url, libgate  # noqa: F401  (fixtures)
from tests.shared_data import require_shared


def test_onboarding_two_members_shows_shared_and_new_works(libgate):
    iliad_bin = require_shared("data", "marc", "openlibrary", "bin_input",
                               "cu31924091184469_meta.mrc")
    iliad_xml = require_shared("data", "marc", "openlibrary", "xml_input",
                               "cu31924091184469_marc.xml")
    chabon = require_shared("data", "marc", "marc4j", "chabon-loc.mrc")
    first = json.loads(libgate("onboard", "US-OLB", "--name", "A", "--marc-file",
                               str(iliad_bin), "--json").output)
    assert (first["works"], first["new_to_consortium"]) == (1, 1)
    second = json.loads(libgate("onboard", "US-OLX", "--name", "B", "--marc-file",
                                str(iliad_xml), "--json").output)
    # the same Iliad: already held by US-OLB, so nothing new, but one more holder
    assert (second["works"], second["new_to_consortium"]) == (1, 0)
    # no item data says a copy lends: no loan rota asks US-OLX, and the count says so
    assert second["requestable"] == 0
    assert second["harvests"][0]["status"] == "succeeded"
    third = json.loads(libgate("onboard", "US-LOC", "--name", "C", "--marc-file",
                               str(chabon), "--json").output)
    assert (third["works"], third["new_to_consortium"]) == (2, 2)
    loan = json.loads(libgate("ill", "request", "--as", "US-LOC", "--oclc", "(OCoLC)4282700",
                              "--patron", "p1", "--json").output)
    assert (loan["state"], loan["rota"]) == ("no-lenders", [])
    # a catalogue whose item fields say its copies circulate: requestable
    items = require_shared("data", "marc", "marc4j", "u335.mrc")
    fourth = json.loads(libgate("onboard", "US-U33", "--name", "E", "--marc-file", str(items),
                                "--json").output)
    assert (fourth["works"], fourth["requestable"]) == (1, 1)
    again = libgate("onboard", "US-LOC", "--name", "C", "--marc-file", str(chabon), ok=False)
    assert again.exit_code == 1 and "already exists" in again.output
    none = libgate("onboard", "US-NEW", "--name", "D", ok=False)
    assert none.exit_code == 1 and "--oai URL or --marc-file" in none.output
