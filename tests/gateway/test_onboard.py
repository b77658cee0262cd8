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


async def test_onboarding_over_oai_pmh_probes_harvests_and_reports_progress(store, settings):
    import dataclasses

    import pytest

    from gateway import registry
    from gateway.onboard import onboard
    from gateway.registry import EndpointSpec
    from tests.fakes.fake_member import FakeMember
    from tests.gateway.harvest_helpers import real_fake_records

    settings = dataclasses.replace(settings, values={**settings.values, "probe_endpoints": True})
    steps: list[str] = []
    seen: list[int] = []

    def progress_for(_target):
        return lambda report: seen.append(report.records_read)
    async with FakeMember(real_fake_records(25)) as member:
        with pytest.raises(registry.RegistryError, match="does not offer metadataPrefix"):
            await onboard(store, settings, "US-FAKE", "Fake", [EndpointSpec(
                "oai-pmh", url=member.url, metadata_prefix="oai_dc")], probe=True)
        with pytest.raises(registry.MemberNotFound):          # a refused probe registers nothing
            await registry.get_member(store, "US-FAKE")
        summary = await onboard(store, settings, "US-FAKE", "Fake", [EndpointSpec(
            "oai-pmh", url=member.url, metadata_prefix="marc21")], probe=True,
            on_step=steps.append, progress_for=progress_for)
    assert steps == ["registering and probing", "harvesting and clustering",
                     "counting what is now requestable"]
    assert [r.status for r in summary.reports] == ["succeeded"]
    assert seen and seen[-1] == 25 and seen == sorted(seen)         # progress as pages came
    assert 0 < summary.works <= 25 and summary.new_to_consortium == summary.works
    assert 0 <= summary.requestable <= summary.works
