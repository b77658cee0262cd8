"""A record's match profile as the store keeps it (records.match_profile): read back equal,
refused when another version of profile_of made it, and a fingerprint that fails when
profile_of changes without PROFILE_VERSION."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from protocols.matching import profile_of
from protocols.matching.keys import PROFILE_VERSION, profile_from_stored, stored_profile
from tests.protocols.test_matching import normalized_records

# real files of several sources: MARC-8 and UTF-8 twins, MARCXML, French, a FOLIO export
FINGERPRINT_FILES = ("marc4j/brkrtest.mrc", "marc4j/brkrtest_UTF8.mrc", "marc4j/summerland.xml",
                     "evergreen/lul_fre_100.mrc", "folio/sample100.mrc",
                     "openlibrary/bin_input/bpl_0486266893.mrc")
# sha256 of the stored profiles of every bibliographic record of FINGERPRINT_FILES, made by
# the profile_of of PROFILE_VERSION
FINGERPRINTS = {1: "339dd6687aaa82aed9a9bdf7981ee67c6df3e54435a1cd646a76a364b6b432be"}


def real_profiles():
    for path in FINGERPRINT_FILES:
        for n, norm in enumerate(normalized_records(path)):
            yield profile_of(norm, record_id=n + 1, member="XX-TEST", local_id=f"{path}#{n}")


def test_a_stored_profile_reads_back_equal_to_the_one_made():
    made = list(real_profiles())
    assert len(made) > 200
    for profile in made:
        text = orjson.dumps(stored_profile(profile))          # as the store writes it
        back = profile_from_stored(orjson.loads(text), record_id=profile.record_id,
                                   member=profile.member, local_id=profile.local_id)
        assert back == profile
        assert back.keys == profile.keys


@pytest.mark.parametrize("stored", [
    [PROFILE_VERSION - 1, *([None] * 13)],       # made by the profile_of before
    [PROFILE_VERSION + 1, *([None] * 13)],
    [PROFILE_VERSION],                           # truncated
    {"version": PROFILE_VERSION},
    None,
])
def test_a_profile_of_another_version_or_shape_is_not_trusted(stored):
    assert profile_from_stored(stored, record_id=1, member="XX", local_id="1") is None


def test_profile_of_gives_what_its_version_gave():
    """Fails when profile_of (or the keys, or the folding they use) changes what it gives:
    profiles stored by the version before would be trusted. Raise PROFILE_VERSION with the
    change, and record the new fingerprint here."""
    digest = hashlib.sha256()
    for profile in real_profiles():
        digest.update(orjson.dumps(stored_profile(profile)))
        digest.update(b"\n")
    assert FINGERPRINTS.get(PROFILE_VERSION) == digest.hexdigest(), (
        f"profile_of now gives other profiles (fingerprint {digest.hexdigest()}): raise "
        f"PROFILE_VERSION (now {PROFILE_VERSION}) in protocols/matching/keys.py and record "
        "the fingerprint under the new version")
