"""The merged record of a cluster (protocols.union.UnionRecord) from its member records.

Each field comes from the best source that has it: sources are ranked by completeness (how
many fields they fill), a title in ALL CAPS counts against a source, and ties go by
(member, local id) so the result never depends on arrival order. A value in ALL CAPS is only
taken when no source has it otherwise. Identifiers, subjects and languages are the union over
all sources; ``provenance`` says which source each field came from; ``holdings`` lists every
institution's copies with the member's service status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from protocols.matching.text import fold, is_all_caps
from protocols.union import SourceRef, UnionHolding, UnionRecord

SCALAR_FIELDS = ("title", "subtitle", "responsibility", "lccn", "publisher", "year", "edition",
                 "pages", "extent")
LIST_FIELDS = ("authors", "corporate_authors", "series")         # from one source, as a whole
UNION_FIELDS = ("isbns", "issns", "oclc_numbers", "other_ids", "languages", "subjects")
_COMPLETENESS = (*SCALAR_FIELDS, *LIST_FIELDS, "isbns", "subjects", "languages")
_CHOSEN_FIELDS = (*SCALAR_FIELDS, *LIST_FIELDS)
_EMPTY = (None, "", [], ())


@dataclass(slots=True)
class SourceRecord:
    """One member record as the merge needs it."""

    record_id: int
    member: str
    local_id: str
    normalized: Mapping[str, Any]
    member_status: str = "open"
    rule: str | None = None
    holdings: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.member, self.local_id)

    @property
    def ref(self) -> str:
        return f"{self.member}:{self.local_id}"


def _filled(value: Any) -> bool:
    return value not in _EMPTY


def _shouting(value: Any) -> bool:
    if isinstance(value, str):
        return is_all_caps(value)
    if isinstance(value, list):
        return any(isinstance(v, str) and is_all_caps(v) for v in value)
    return False


def _rank(source: SourceRecord) -> tuple[int, int, tuple[str, str]]:
    norm = source.normalized
    filled = sum(1 for name in _COMPLETENESS if _filled(norm.get(name)))
    return (1 if is_all_caps(norm.get("title")) else 0, -filled, source.sort_key)


def merge_cluster(cluster_id: int, sources: Sequence[SourceRecord]) -> UnionRecord:
    """Build the UnionRecord of ``cluster_id`` from its sources (at least one)."""
    if len(sources) == 1:
        return _single(cluster_id, sources[0])
    ranked = sorted(sources, key=_rank)
    merged = UnionRecord(cluster_id=cluster_id)
    provenance: dict[str, str] = {}
    for name in _CHOSEN_FIELDS:
        chosen = None
        for source in ranked:
            value = source.normalized.get(name)
            if _filled(value) and not _shouting(value):
                chosen = (source, value)
                break
        if chosen is None:       # only shouted values (or none): take the best-ranked one
            chosen = next(((s, s.normalized.get(name)) for s in ranked
                           if _filled(s.normalized.get(name))), None)
        if chosen is not None:
            setattr(merged, name, list(chosen[1]) if name in LIST_FIELDS else chosen[1])
            provenance[name] = chosen[0].ref
    best = ranked[0]
    merged.format = best.normalized.get("format") or "other"
    provenance["format"] = best.ref
    for name in UNION_FIELDS:
        values: list[str] = []
        seen: set[str] = set()
        for source in ranked:
            for value in source.normalized.get(name) or ():
                folded = fold(value) if name == "subjects" else value
                if folded not in seen:
                    seen.add(folded)
                    values.append(value)
        setattr(merged, name, values)
    merged.provenance = provenance
    ordered = sorted(sources, key=lambda s: s.sort_key)
    merged.sources = [SourceRef(record_id=s.record_id, member=s.member, local_id=s.local_id,
                                rule=s.rule) for s in ordered]
    merged.holdings = holdings_of(ordered)
    return merged


def _single(cluster_id: int, source: SourceRecord) -> UnionRecord:
    """The common case — a work one member holds — without ranking."""
    norm = source.normalized
    ref = source.ref
    merged = UnionRecord(cluster_id=cluster_id, format=norm.get("format") or "other")
    provenance = {"format": ref}
    for name in SCALAR_FIELDS:
        value = norm.get(name)
        if value not in _EMPTY:
            setattr(merged, name, value)
            provenance[name] = ref
    for name in LIST_FIELDS:
        value = norm.get(name)
        if value not in _EMPTY:
            setattr(merged, name, list(value))
            provenance[name] = ref
    for name in UNION_FIELDS:
        setattr(merged, name, list(dict.fromkeys(norm.get(name) or ())))
    merged.provenance = provenance
    merged.sources = [SourceRef(record_id=source.record_id, member=source.member,
                                local_id=source.local_id, rule=None)]
    merged.holdings = holdings_of([source])
    return merged


def holdings_of(sources: Sequence[SourceRecord]) -> list[UnionHolding]:
    """Every institution's copies; a record without item data still shows its holder."""
    out: list[UnionHolding] = []
    for source in sources:
        digitized = any(link.get("url") for link in source.normalized.get("links") or ())
        if not source.holdings:
            out.append(UnionHolding(member=source.member, local_id=source.local_id,
                                    digitized=digitized, member_status=source.member_status))
            continue
        for h in source.holdings:
            out.append(UnionHolding(
                member=source.member, local_id=source.local_id, location=h.get("location"),
                call_number=h.get("call_number"), lendable=h.get("lendable"),
                barcode=h.get("barcode"), digitized=digitized,
                member_status=source.member_status))
    return out
