"""NormalizedRecord.to_dict is written out by hand for speed: it must stay ``asdict``."""

from __future__ import annotations

from dataclasses import asdict, fields

from protocols.errors import MarcError, NormalizationError
from protocols.marc import decode_record, read_records
from protocols.normalize import normalize_marc
from protocols.records import Holding, Link, NormalizedRecord
from tests.shared_data import SHARED, require_shared


def test_to_dict_names_every_field() -> None:
    record = NormalizedRecord(local_id="x", links=[Link("http://a.example", "A")],
                              holdings=[Holding("Main", "QA 1", True, "b1", "n", "952")])
    assert list(record.to_dict()) == [f.name for f in fields(NormalizedRecord)]
    assert record.to_dict() == asdict(record)


def test_to_dict_copies_its_lists() -> None:
    record = NormalizedRecord(local_id="x", authors=["A"])
    record.to_dict()["authors"].append("B")
    assert record.authors == ["A"]


def test_to_dict_equals_asdict_on_every_shared_record() -> None:
    require_shared()
    compared = 0
    for file in sorted((SHARED / "data" / "marc").rglob("*")):
        if not file.is_file() or file.suffix.lower() not in (".mrc", ".marc", ".dat", ".xml"):
            continue
        for raw in read_records(file.read_bytes()):
            try:
                decoded = decode_record(raw)
                record = normalize_marc(decoded.record, local_id=f"{file.name}#{raw.position}",
                                        repairs=decoded.repairs)
            except (MarcError, NormalizationError):
                continue
            assert record.to_dict() == asdict(record), (file, raw.position)
            compared += 1
    assert compared > 2500
