"""MARC reader contract: every real file in ../shared/data/marc, encodings, chunking, fuzzing."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from pathlib import Path

import pymarc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.errors import MarcError
from protocols.marc import (
    MARC_NS,
    DecodedRecord,
    MarcStreamReader,
    RawRecord,
    decode_record,
    marc_local_id,
    read_records,
)
from tests.shared_data import SHARED, require_shared

pytestmark = [
    pytest.mark.shared,
    # pymarc warns about non-ASCII subfield codes and logs odd indicators; both are expected.
    pytest.mark.filterwarnings("ignore::pymarc.exceptions.BadSubfieldCodeWarning"),
]

MARC_DIR = SHARED / "data" / "marc"
GAP = b" \t\r\n\x0b\x0c\x00\x1a"
# Record start tags with or without a prefix; not <recordData> and the like.
RECORD_START_TAG = re.compile(rb"<([A-Za-z_][\w.\-]*:)?record[\s/>]")


def corpus_files() -> list[str]:
    if not MARC_DIR.is_dir():
        return []
    return sorted(
        str(p.relative_to(MARC_DIR)) for p in MARC_DIR.rglob("*") if p.is_file() and p.suffix != ".txt"
    )


def marc_bytes(name: str) -> bytes:
    return require_shared("data", "marc", *name.split("/")).read_bytes()


def read_all(data: bytes, chunk: int | None = None) -> list[RawRecord]:
    if chunk is None:
        return list(read_records(data))
    reader = MarcStreamReader()
    out: list[RawRecord] = []
    for start in range(0, len(data), chunk):
        out += reader.feed(data[start:start + chunk])
    return out + reader.close()


def decode_all(raws: list[RawRecord]) -> tuple[list[DecodedRecord], list[MarcError]]:
    decoded, failed = [], []
    for raw in raws:
        try:
            decoded.append(decode_record(raw))
        except MarcError as err:
            failed.append(err)
    return decoded, failed


def pymarc_permissive_count(name: str, data: bytes) -> int:
    """What pymarc 5.4 salvages: per-0x1D chunk Record(), or parse_xml_to_array for XML."""
    if name.endswith(".xml"):
        try:
            return len(pymarc.parse_xml_to_array(io.BytesIO(data), strict=False))
        except Exception:  # noqa: BLE001 - pymarc's SAX errors vary; "pymarc fails" is the answer
            return 0
    ok = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for chunk in data.split(b"\x1d")[:-1]:
            try:
                pymarc.Record(chunk.lstrip(GAP) + b"\x1d", utf8_handling="replace", hide_utf8_warnings=True)
                ok += 1
            except Exception:  # noqa: BLE001 - any pymarc failure means "not salvaged by pymarc"
                pass
    return ok


def test_shared_corpus_is_there():
    require_shared("data", "marc")
    assert len(corpus_files()) >= 200


# ---------------------------------------------------------------------------------------------
# Every real file
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", corpus_files())
def test_every_file_decodes_or_fails_typed(name):
    data = marc_bytes(name)
    raws = read_all(data)
    records = [r for r in raws if r.syntax != "trailer"]
    trailers = [r for r in raws if r.syntax == "trailer"]
    decoded, failed = decode_all(records)
    for trailer in trailers:
        with pytest.raises(MarcError) as info:
            decode_record(trailer)
        assert info.value.reason == "unterminated-trailer"

    if name.endswith(".xml"):
        assert {r.syntax for r in records} <= {"marcxml"}
        assert len(decoded) + len(failed) == len(RECORD_START_TAG.findall(data))
        assert not trailers
    else:
        assert {r.syntax for r in records} <= {"iso2709"}
        assert len(decoded) + len(failed) == data.count(b"\x1d")
        tail = data[data.rfind(b"\x1d") + 1:]
        assert len(trailers) == (1 if tail.strip(GAP) else 0)
        # Nothing lost: the records and trailer are the stream's exact bytes, in order,
        # and whatever lies between them is padding.
        cursor = 0
        for raw in raws:
            assert data[raw.offset:raw.offset + len(raw.data)] == raw.data
            assert not data[cursor:raw.offset].strip(GAP)
            cursor = raw.offset + len(raw.data)
        assert not data[cursor:].strip(GAP)
    assert [r.position for r in raws] == list(range(1, len(raws) + 1))
    assert len(decoded) >= pymarc_permissive_count(name, data)

    for item in decoded:
        text = str(item.record)
        if "\ufffd" in text:
            assert item.repairs, f"U+FFFD without a repair note in record {item.raw.position}"
        local_id = marc_local_id(item.record, item.raw.data)
        assert local_id and local_id == local_id.strip()


ODD_FILES = [
    # file, decoded, failed, trailers — where pymarc 5.4 loses records or reads them wrongly
    ("pymarc/bad_records.mrc", 8, 0, 0),
    ("folio/sample100.mrc", 100, 0, 0),
    ("folio/invalidMarcFile.mrc", 0, 0, 1),
    ("marc4j/008008027.mrc", 18, 0, 1),
    ("marc4j/bad_oversize_field_bad_directory.mrc", 5, 0, 0),
    ("marc4j/datos-20161010-slice.mrc", 1, 0, 0),
    ("pymarc/bad_subfield_code.dat", 1, 0, 0),
    ("openlibrary/bin_input/poganucpeoplethe00stowuoft_meta.mrc", 1, 0, 0),
    ("vufind-marc/marc_collection.mrc", 2, 0, 0),
    ("recordmanager2-mzk/iso2709/MZK01-000000146.mrc", 1, 0, 0),
    ("pymarc/bad_indicator.dat", 1, 0, 0),
    ("pymarc/testunimarc.dat", 1, 0, 0),
    ("marc4j/sample1.mrc", 8, 0, 0),
    ("ruby-marc/marc8_accented_chars.marc", 1, 0, 0),
    ("evergreen/serials_marc21.xml", 7, 0, 0),
    ("vufind-marc/invalid_marc_collection.xml", 1, 0, 0),
    ("marc4j/chabon-missing-controlfield-tag.xml", 1, 0, 0),
    ("marc4j/chabon-missing-datafield-tag.xml", 1, 0, 0),
    ("marc4j/chabon-missing-subfield-code.xml", 1, 0, 0),
    ("pymarc/bad_tag.xml", 1, 0, 0),
    ("recordmanager2-mzk/records/MZK01-001101044.xml", 1, 0, 0),
]


@pytest.mark.parametrize("name, n_decoded, n_failed, n_trailers", ODD_FILES)
def test_odd_files(name, n_decoded, n_failed, n_trailers):
    raws = read_all(marc_bytes(name))
    decoded, failed = decode_all([r for r in raws if r.syntax != "trailer"])
    trailers = [r for r in raws if r.syntax == "trailer"]
    assert (len(decoded), len(failed), len(trailers)) == (n_decoded, n_failed, n_trailers)


def by_position(name: str) -> dict[int, DecodedRecord]:
    decoded, _ = decode_all(read_all(marc_bytes(name)))
    return {d.raw.position: d for d in decoded}


def test_garbage_in_leader_is_repaired():
    # folio sample100 records 12 and 74 carry 0x92 (cp1252 apostrophe) at leader/22.
    records = by_position("folio/sample100.mrc")
    for position in (12, 74):
        item = records[position]
        assert str(item.record.leader)[20:24] == "4500"
        assert any("leader/22" in repair for repair in item.repairs)
        assert item.record["245"] is not None


def test_lengths_in_characters_are_reframed():
    # Leader and directory count characters, data is UTF-8: pymarc loses or mis-slices it.
    item = by_position("openlibrary/bin_input/poganucpeoplethe00stowuoft_meta.mrc")[1]
    record = item.record
    assert record["245"]["a"] == "Poganuc people:"
    assert record["260"].get_subfields("b") == ["Fords, Howard, & Hulbert"]
    assert record["926"]["a"] == "ROBARTS"
    assert [f.tag for f in record.fields][-3:] == ["948", "596", "926"]
    assert any("re-paired" in repair for repair in item.repairs)


def test_oversize_record_with_wide_directory_entries():
    # 214 kB record: offsets above 99,999 need 6 digits, so entries are 13 bytes wide.
    data = marc_bytes("marc4j/datos-20161010-slice.mrc")
    item = by_position("marc4j/datos-20161010-slice.mrc")[1]
    field_count = data[data.index(b"\x1e") + 1:].count(b"\x1e")
    assert len(item.record.fields) == field_count == 989
    assert item.record.fields[0].tag == "001"
    assert item.record.fields[-1].tag == "952"
    # The data is all there: every field starts where the previous field's terminator was.
    assert item.record.fields[432].get_subfields("2") == ["CATUSM"]  # first entry past offset 99,999
    assert any("wider than 12 bytes" in repair for repair in item.repairs)


def test_five_digit_field_length():
    data = marc_bytes("marc4j/bad_oversize_field_bad_directory.mrc")
    item = by_position("marc4j/bad_oversize_field_bad_directory.mrc")[2]
    record_bytes = data.split(b"\x1d")[1]
    assert len(item.record.fields) == record_bytes.count(b"\x1e") - 1
    assert max(len(f.value()) for f in item.record.get_fields("520")) > 9999


def test_bad_base_addresses_are_recomputed():
    records = by_position("pymarc/bad_records.mrc")
    assert len(records) == 8
    for item in records.values():
        if item.record.fields:
            assert item.record["245"]["a"] == "The pragmatic programmer : "
    assert any("base address" in r for r in records[2].repairs)  # 99937
    assert any("base address" in r for r in records[6].repairs)  # "f0037"
    assert records[7].record.fields == []  # a leader with an empty directory is still a record


def test_xml_without_root_element():
    records = by_position("evergreen/serials_marc21.xml")
    assert len(records) == 7
    assert all(item.record.get_fields("245") for item in records.values())
    assert records[2].record["001"].data == "01-0321871"


def test_xml_missing_attributes_are_dropped_with_a_note():
    item = by_position("marc4j/chabon-missing-subfield-code.xml")[1]
    assert any("without a code" in r for r in item.repairs)
    item = by_position("marc4j/chabon-missing-controlfield-tag.xml")[1]
    assert any("without a tag" in r for r in item.repairs)


def test_xml_squeezed_leader_is_refitted():
    item = by_position("recordmanager2-mzk/records/MZK01-001101044.xml")[1]
    assert str(item.record.leader) == "00000nam a2200000   4500"


# ---------------------------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "evergreen/lul_fre_100.mrc", "marc4j/brkrtest.mrc", "evergreen/hebrew.marc", "pymarc/marc8.dat",
])
def test_marc8_matches_pymarcs_own_conversion(name):
    decoded, failed = decode_all(read_all(marc_bytes(name)))
    assert not failed
    for item in decoded:
        assert item.encoding == "marc-8"
        theirs = pymarc.Record(item.raw.data, hide_utf8_warnings=True)
        assert item.record.title == theirs.title
        assert str(item.record) == str(theirs)


def test_brkrtest_marc8_and_utf8_twins_agree():
    marc8, _ = decode_all(read_all(marc_bytes("marc4j/brkrtest.mrc")))
    utf8, _ = decode_all(read_all(marc_bytes("marc4j/brkrtest_UTF8.mrc")))
    for a, b in zip(marc8, utf8, strict=True):
        assert unicodedata.normalize("NFC", a.record.title) == unicodedata.normalize("NFC", b.record.title)


def test_utf8_under_marc8_leader_is_not_mojibake():
    decoded, _ = decode_all(read_all(marc_bytes("evergreen/map_data.mrc")))
    assert len(decoded) == 3
    for item in decoded:
        text = str(item.record)
        assert item.encoding == "utf-8"
        assert "Ã" not in text and "â€" not in text
        assert any("UTF-8" in r for r in item.repairs)
    assert "⁰" in str(decoded[0].record["255"])  # the degree signs in the coordinates survive


def test_utf8_without_leader_flag_equals_its_twin():
    ours = by_position("pymarc/utf8_without_leader_flag.dat")[1]
    twin = by_position("pymarc/utf8_with_leader_flag.dat")[1]
    assert ours.record.title == twin.record.title
    assert not twin.repairs


def test_hebrew_letters():
    decoded, _ = decode_all(read_all(marc_bytes("evergreen/hebrew.marc")))
    assert len(decoded) == 20
    hebrew = [d for d in decoded if re.search("[\u05d0-\u05ea]", str(d.record))]
    assert len(hebrew) >= 15


def test_marc8_bytes_under_utf8_leader():
    item = by_position("ruby-marc/marc8_accented_chars.marc")[1]
    assert item.encoding == "marc-8"
    assert "théâtre" in item.record.title
    assert item.repairs


def test_cp1251_under_marc8_leader():
    decoded, _ = decode_all(read_all(marc_bytes("pymarc/1251.dat")))
    assert len(decoded) == 6
    for item in decoded:
        assert item.encoding == "cp1251" and item.repairs
        assert re.search("[а-яА-Я]{4}", item.record.title)


def test_mangled_utf8_is_replaced_and_said():
    item = by_position("marc4j/sample1.mrc")[7]
    assert "\ufffd" in str(item.record["245"])
    assert any("U+FFFD" in r for r in item.repairs)


def test_clean_utf8_record_has_no_repairs():
    decoded, _ = decode_all(read_all(marc_bytes("folio/100.mrc")))
    assert len(decoded) == 100
    assert all(d.encoding == "utf-8" and not d.repairs for d in decoded)


# ---------------------------------------------------------------------------------------------
# Hand-made failures (real data has no record we cannot salvage, so these are written here)
# ---------------------------------------------------------------------------------------------

def iso(leader: bytes, directory: bytes, fields: bytes) -> RawRecord:
    return RawRecord(1, 0, leader + directory + b"\x1e" + fields + b"\x1d", "iso2709")


@pytest.mark.parametrize("raw, reason, detail", [
    (RawRecord(1, 0, b"00010nam\x1d", "iso2709"), "bad-leader", "too short"),
    (RawRecord(1, 0, b"00030nam a2200\x1e0   4500xx\x1d", "iso2709"), "bad-leader", "leader/14"),
    (RawRecord(1, 0, b"00030nam a2200025   4500abcd\x1d", "iso2709"), "bad-directory", "no directory"),
    (iso(b"00060nam a2200049   4500", b"245000500000100000500005", b"01ab\x1e"), "bad-directory",
     "directory lists 2 fields but the data holds 1"),
    (iso(b"00060nam a2200037   4500", b"\x01\x02\x03000500000", b"01ab\x1e"), "bad-directory", "tag"),
    (iso(b"00030nam a2200025   4500", b"", b"01ab\x1e"), "no-fields", "empty directory"),
    (RawRecord(1, 0, b"00030nam a2200025   4500", "iso2709"), "unterminated", "no record terminator"),
    (RawRecord(3, 77, b"0012", "trailer"), "unterminated-trailer", "offset 77"),
    (RawRecord(1, 0, b"<record><leader>x</record>", "marcxml"), "xml", "mismatch"),
    (RawRecord(1, 0, b"<record><foo/></record>", "marcxml"), "xml", "no leader, controlfield or datafield"),
    (RawRecord(1, 0, b'<record><leader>&xxe;</leader></record>', "marcxml"), "xml", "xxe"),
])
def test_failures_have_precise_reasons(raw, reason, detail):
    with pytest.raises(MarcError) as info:
        decode_record(raw)
    assert info.value.reason == reason
    assert detail.lower() in info.value.detail.lower()


def test_marcxml_fragment_is_parsed_with_root_namespaces():
    doc = (b'<?xml version="1.0"?>\n<marc:collection xmlns:marc="' + MARC_NS.encode() + b'">'
           b'<marc:record><marc:leader>00000nam a2200000 a 4500</marc:leader>'
           b'<marc:controlfield tag="001">x1</marc:controlfield></marc:record>'
           b'<!-- a comment with </marc:record> inside -->'
           b'<marc:record><marc:leader>00000nam a2200000 a 4500</marc:leader>'
           b'<!-- </marc:record> --><marc:controlfield tag="001">x2</marc:controlfield></marc:record>'
           b'</marc:collection>')
    raws = read_all(doc)
    assert [r.syntax for r in raws] == ["marcxml", "marcxml"]
    assert raws[0].data.startswith(b"<marc:record>") and raws[0].data.endswith(b"</marc:record>")
    assert [marc_local_id(decode_record(r).record, r.data) for r in raws] == ["x1", "x2"]
    assert read_all(doc, 1) == raws
    # Re-decoding without the context (e.g. from quarantine) still works, and says so.
    bare = RawRecord(1, 0, raws[1].data, "marcxml")
    again = decode_record(bare)
    assert again.record["001"].data == "x2" and again.repairs


def test_malformed_record_does_not_stop_the_next():
    doc = (b"<collection><record><leader>00000nam a2200000 a 4500</leader>"
           b"<controlfield tag='001'>a</controlfield><bad></record>"
           b"<record><leader>00000nam a2200000 a 4500</leader>"
           b"<controlfield tag='001'>b</controlfield></record></collection>")
    raws = read_all(doc)
    assert len(raws) == 2
    with pytest.raises(MarcError) as info:
        decode_record(raws[0])
    assert info.value.reason == "xml"
    assert decode_record(raws[1]).record["001"].data == "b"


def test_unclosed_xml_record_is_a_trailer():
    raws = read_all(b"<collection><record><leader>00000nam a2200000 a 4500</leader>")
    assert [r.syntax for r in raws] == ["trailer"]


def test_oversize_records_are_cut_not_buffered():
    data = marc_bytes("marc4j/datos-20161010-slice.mrc") + marc_bytes("marc4j/chabon.mrc")
    reader = MarcStreamReader(max_record_bytes=100_000)
    raws: list[RawRecord] = []
    for start in range(0, len(data), 4096):
        raws += reader.feed(data[start:start + 4096])
        assert len(reader._buf) <= 100_000 + 4096
    raws += reader.close()
    assert len(raws) == 3 and len(raws[0].data) == 100_000
    with pytest.raises(MarcError) as info:
        decode_record(raws[0])
    assert info.value.reason == "oversize"
    assert [decode_record(r).record["001"].data for r in raws[1:]] == ["11939876", "12883376"]
    assert read_all(data) != raws  # the default limit (4 MiB) keeps it whole
    whole = MarcStreamReader(max_record_bytes=100_000)
    assert whole.feed(data) + whole.close() == raws


# ---------------------------------------------------------------------------------------------
# Stream reader behaviour
# ---------------------------------------------------------------------------------------------

CHUNK_FILES = [
    "folio/100.mrc",
    "pymarc/bad_records.mrc",
    "marc4j/008008027.mrc",
    "recordmanager2-mzk/iso2709/MZK01-000000146.mrc",
    "vufind-marc/marc_collection.mrc",
    "evergreen/serials_marc21.xml",
    "marc4j/sample1a.xml",
    "marc4j/1474920681_KOHA_LFL_6_with_comment.xml",
    "vufind-marc/invalid_marc_collection.xml",
    "folio/invalidMarcFile.mrc",
]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("name", CHUNK_FILES)
def test_chunking_does_not_change_records(name, chunk):
    data = marc_bytes(name)
    whole = read_all(data)
    assert whole
    assert read_all(data, chunk) == whole


@pytest.mark.parametrize("name", ["marc4j/chabon.mrc", "marc4j/chabon.xml"])
def test_utf8_bom_is_skipped(name):
    data = marc_bytes(name)
    plain = read_all(data)
    with_bom = read_all(b"\xef\xbb\xbf" + data)
    assert [r.data for r in with_bom] == [r.data for r in plain]
    assert [r.offset for r in with_bom] == [r.offset + 3 for r in plain]
    assert read_all(b"\xef\xbb\xbf" + data, 1) == with_bom


def test_reader_api():
    data = marc_bytes("marc4j/chabon.mrc")
    reader = MarcStreamReader()
    assert reader.feed(b"") == []
    first = reader.feed(data)
    assert reader.syntax == "iso2709"
    assert [r.position for r in first] == [1, 2]
    assert first[1].offset == len(first[0].data)
    assert reader.close() == []
    assert reader.close() == []
    with pytest.raises(ValueError):
        reader.feed(b"x")
    assert read_all(b"") == [] and read_all(b"\n\n  \x1a") == []


def test_local_id():
    item = by_position("marc4j/chabon.mrc")[1]
    assert marc_local_id(item.record, item.raw.data) == "11939876"
    no_001 = pymarc.Record()
    no_001.add_field(pymarc.Field(tag="245", indicators=["0", "0"], subfields=[pymarc.Subfield("a", "x")]))
    raw = b"some raw bytes"
    assert marc_local_id(no_001, raw) == "sha1-" + hashlib.sha1(raw).hexdigest()[:16]
    blank = pymarc.Record()
    blank.add_field(pymarc.Field(tag="001", data="   "))
    assert marc_local_id(blank, raw).startswith("sha1-")
    padded = pymarc.Record()
    padded.add_field(pymarc.Field(tag="001", data=" ocm123 \n"))
    assert marc_local_id(padded, raw) == "ocm123"


# ---------------------------------------------------------------------------------------------
# Properties: any input gives a DecodedRecord or a MarcError, and chunking never matters
# ---------------------------------------------------------------------------------------------

def _sample_records() -> list[bytes]:
    if not MARC_DIR.is_dir():
        return [b"00026     2200025   4500\x1e\x1d"]
    picks = []
    for name in ["marc4j/chabon-loc.mrc", "folio/sample100.mrc", "evergreen/hebrew.marc",
                 "evergreen/map_data.mrc", "pymarc/bad_records.mrc", "marc4j/loongboonmee.mrc"]:
        picks += [r.data for r in read_all((MARC_DIR / name).read_bytes())[:4]]
    for name in ["marc4j/chabon.xml", "pymarc/batch.xml", "pymarc/bad_tag.xml"]:
        picks.append((MARC_DIR / name).read_bytes())
    return picks


SAMPLES = _sample_records()
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_everything(data: bytes, cuts: list[int]) -> list[RawRecord]:
    reader = MarcStreamReader(max_record_bytes=50_000)
    raws: list[RawRecord] = []
    previous = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        raws += reader.feed(data[previous:cut])
        previous = max(previous, cut)
    raws += reader.feed(data[previous:])
    raws += reader.close()
    for raw in raws:
        try:
            result = decode_record(raw)
        except MarcError as err:
            assert err.reason and err.detail
        else:
            assert isinstance(result, DecodedRecord)
            assert isinstance(result.record, pymarc.Record)
    whole = MarcStreamReader(max_record_bytes=50_000)
    assert whole.feed(data) + whole.close() == raws
    return raws


@PROPERTY
@given(st.binary(max_size=3000), st.lists(st.integers(min_value=0), max_size=8))
def test_random_bytes(data, cuts):
    run_everything(data, cuts)


@PROPERTY
@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=8))
def test_random_bytes_that_look_like_marcxml(data, cuts):
    run_everything(b"<collection><record>" + data + b"</record><record>" + data, cuts)


@st.composite
def mutated_records(draw):
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "terminator"]))
        if not data:
            break
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del data[at:at + draw(st.integers(min_value=1, max_value=8))]
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = draw(st.sampled_from([b"\x1d", b"\x1e", b"\x1f", b"\x1b(2", b"<", b"</record>"]))
    return bytes(data)


@PROPERTY
@given(mutated_records(), st.lists(st.integers(min_value=0), max_size=5))
def test_mutated_real_records(data, cuts):
    run_everything(data, cuts)


@PROPERTY
@given(st.lists(st.sampled_from(SAMPLES[:-3]), min_size=1, max_size=5),
       st.lists(st.sampled_from([b"", b"\n", b"\r\n", b"  ", b"\x1a", b"\x00"]), min_size=5, max_size=5),
       st.lists(st.integers(min_value=0), max_size=6))
def test_concatenated_records_with_padding(records, pads, cuts):
    data = b"".join(rec + pad for rec, pad in zip(records, pads))
    raws = run_everything(data, cuts)
    assert [r.data for r in raws] == records


XML_PIECES = [
    b"<record>", b"</record>", b"<marc:record xmlns:marc='" + MARC_NS.encode() + b"'>", b"</marc:record>",
    b"<record/>", b"<collection xmlns=\"" + MARC_NS.encode() + b"\">", b"</collection>",
    b"<leader>00000nam a2200000 a 4500</leader>", b"<controlfield tag=\"001\">", b"</controlfield>",
    b"<datafield tag='245' ind1='1' ind2='0'><subfield code='a'>", b"</subfield></datafield>",
    b"<!--", b"-->", b"<![CDATA[", b"]]>", b"<?xml version='1.0' encoding='ISO-8859-1'?>", b"<?pi x?>",
    b"<!DOCTYPE collection [", b"<!ENTITY e 'x'>", b"]>", b"&e;", b"&amp;", b"\"", b"'", b">", b"<",
    b"text", b"\xe9", b"\xc3\xa9", b" ", b"\n", b"\x1d", b"\x00",
]


@PROPERTY
@given(st.lists(st.sampled_from(XML_PIECES), max_size=40), st.lists(st.integers(min_value=0), max_size=8))
def test_xml_token_soup(pieces, cuts):
    run_everything(b"<" + b"".join(pieces), cuts)


def test_marcxml_in_a_declared_single_byte_encoding():
    # Hand-written: no shared file declares a non-UTF-8 encoding.
    doc = ("<?xml version='1.0' encoding='ISO-8859-1'?>\n<collection xmlns='" + MARC_NS + "'>"
           "<record><leader>00000nam a2200000 a 4500</leader>"
           "<datafield tag='245' ind1='1' ind2='0'><subfield code='a'>Caf\u00e9 cr\u00e8me</subfield>"
           "</datafield></record></collection>").encode("latin-1")
    raws = read_all(doc)
    assert raws[0].xml_context is not None
    assert raws[0].xml_context.encoding == "iso-8859-1"
    assert ("", MARC_NS) in raws[0].xml_context.namespaces
    item = decode_record(raws[0])
    assert item.record["245"]["a"] == "Caf\u00e9 cr\u00e8me"
    assert item.encoding == "iso-8859-1" and not item.repairs


def test_record_in_a_foreign_namespace_is_read_and_noted():
    decoded, _ = decode_all(read_all(marc_bytes("vufind-marc/marc_collection_ns.xml")))
    assert len(decoded) == 3
    assert any("namespace" in r for r in decoded[2].repairs)
    assert not decoded[0].repairs


def test_decoding_a_parsed_element_equals_decoding_its_bytes():
    """The harvest path decodes the already-parsed <metadata> element; it must give exactly
    what decoding the serialized record gives."""
    from protocols.marc import decode_marcxml_element
    from protocols.oaipmh import parse_list_page
    from tests.shared_data import require_shared
    page = parse_list_page(require_shared("data", "oai", "vufindharvest", "marc.xml").read_bytes())
    compared = 0
    for record in page.records:
        if record.metadata_element is None:
            continue
        from_element = decode_marcxml_element(record.metadata_element, record.metadata)
        from_bytes = decode_record(RawRecord(0, 0, record.metadata, "marcxml"))
        assert from_element.record.as_json() == from_bytes.record.as_json()
        assert from_element.repairs == from_bytes.repairs
        compared += 1
    assert compared > 10
