"""The member registry on both backends: validation names the value at fault."""

from __future__ import annotations

import pytest

from gateway import registry
from gateway.registry import DuplicateMember, EndpointSpec, MemberNotFound, RegistryError


async def test_add_member_with_endpoints_round_trips(store):
    member = await registry.add_member(
        store, "SE-UMU", "Umeå University Library", contact="ill@umu.example",
        endpoint_specs=[EndpointSpec("oai-pmh", url="https://oai.umu.example/oai",
                                     metadata_prefix="marc21", set_spec="books",
                                     schedule="0 2 * * *"),
                        EndpointSpec("iso18626", url="https://ill.umu.example/iso18626")])
    assert member["code"] == "SE-UMU"
    assert member["name"] == "Umeå University Library"
    assert member["status"] == "open"
    assert [(e["type"], e["set"], e["schedule"]) for e in member["endpoints"]] == [
        ("oai-pmh", "books", "0 2 * * *"), ("iso18626", None, None)]
    assert (await registry.get_member(store, "SE-UMU")) == member
    assert [m["code"] for m in await registry.list_members(store)] == ["SE-UMU"]


async def test_oai_endpoint_defaults_to_marc21(store):
    member = await registry.add_member(store, "US-DLC", "Library of Congress", endpoint_specs=[
        EndpointSpec("oai-pmh", url="https://oai.loc.example/oai")])
    assert member["endpoints"][0]["metadata_prefix"] == "marc21"


async def test_duplicate_code_is_refused_case_insensitively(store):
    await registry.add_member(store, "SE-UMU", "Umeå")
    with pytest.raises(DuplicateMember, match="'se-umu' already exists"):
        await registry.add_member(store, "se-umu", "Again")


@pytest.mark.parametrize(("code", "fragment"), [
    ("", "member code ''"),
    ("has space", "'has space'"),
    ("SE-THIS-CODE-IS-FAR-TOO-LONG", "'SE-THIS-CODE-IS-FAR-TOO-LONG'"),
    ("ZZ-NOWHERE", "'ZZ-NOWHERE' looks like an ISIL but is not a valid one"),
])
async def test_bad_codes_are_refused_with_the_code_named(store, code, fragment):
    with pytest.raises(RegistryError, match=fragment.replace("(", r"\(")):
        await registry.add_member(store, code, "Some library")


@pytest.mark.parametrize(("spec", "fragment"), [
    (EndpointSpec("z3950", url="tcp://x"), "unknown endpoint type 'z3950'"),
    (EndpointSpec("oai-pmh", url="ftp://files.example/oai"), "malformed oai-pmh URL 'ftp://files.example/oai'"),
    (EndpointSpec("sru", url="http://"), "malformed sru URL 'http://'"),
    (EndpointSpec("oai-pmh", url="https://h.example:99999/oai"), "malformed oai-pmh URL"),
    (EndpointSpec("oai-pmh", url="https://h.example/oai", schedule="every night"),
     "bad cron expression 'every night'"),
    (EndpointSpec("oai-pmh", url="https://h.example/oai", schedule="0 25 * * *"),
     "bad cron expression '0 25 \\* \\* \\*'"),
    (EndpointSpec("marc-file"), "'marc-file' needs a path"),
])
async def test_bad_endpoints_are_refused_with_the_value_named(store, spec, fragment):
    with pytest.raises(RegistryError, match=fragment):
        await registry.add_member(store, "US-DLC", "LC", endpoint_specs=[spec])
    assert await registry.list_members(store) == []      # nothing half-registered


async def test_passwords_in_endpoint_urls_never_come_back(store):
    member = await registry.add_member(store, "US-DLC", "LC", endpoint_specs=[
        EndpointSpec("oai-pmh", url="https://harvest:s3cret@oai.loc.example/oai?apikey=k3y")])
    shown = member["endpoints"][0]["url"]
    assert "s3cret" not in shown and "k3y" not in shown
    assert shown.startswith("https://harvest:***@oai.loc.example/oai")
    rows = await registry.member_endpoints(store, "US-DLC")
    assert rows[0].url == "https://harvest:s3cret@oai.loc.example/oai?apikey=k3y"


async def test_bad_url_error_does_not_leak_the_password(store):
    with pytest.raises(RegistryError) as caught:
        await registry.add_member(store, "US-DLC", "LC", endpoint_specs=[
            EndpointSpec("oai-pmh", url="gopher://u:hunter2@h.example/")])
    assert "hunter2" not in str(caught.value)


async def test_update_status_endpoints_and_remove(store):
    await registry.add_member(store, "US-DLC", "LC", endpoint_specs=[
        EndpointSpec("sru", url="https://sru.loc.example/db")])
    member = await registry.update_member(
        store, "US-DLC", status="closed", status_reason="flood",
        add_endpoints=[EndpointSpec("marc-file", path="/exports/lc.mrc",
                                    schedule="0 3 * * 1")])
    assert member["status"] == "closed" and member["status_reason"] == "flood"
    assert [e["type"] for e in member["endpoints"]] == ["sru", "marc-file"]
    sru_id = member["endpoints"][0]["id"]
    member = await registry.update_member(store, "US-DLC", remove_endpoints=[sru_id])
    assert [e["type"] for e in member["endpoints"]] == ["marc-file"]
    with pytest.raises(RegistryError, match="no endpoint with id 4242"):
        await registry.update_member(store, "US-DLC", remove_endpoints=[4242])
    with pytest.raises(RegistryError, match="unknown service status 'shut'"):
        await registry.update_member(store, "US-DLC", status="shut")
    await registry.remove_member(store, "US-DLC")
    with pytest.raises(MemberNotFound, match="'US-DLC'"):
        await registry.get_member(store, "US-DLC")
