"""What kind of resource a MARC 21 record describes: record type and LibGate format.

Pure table lookups on the leader, 006/007/008 and 856 indicators — no pymarc objects, so the
rules can be read (and tested) without building a record.

Format rules, first match wins (``FORMATS`` in protocols.records):

    leader/06   leader/07        format            electronic variant
    a t         a b              article           (stays article)
    a t         s i              serial            e-journal
    a t         m c d, other     book              ebook
    m           s i              e-journal         (computer file, serial)
    m           any              ebook if 008/26 = d (document), else other
    e f                          map
    c d                          score
    g                            video
    i j                          audio
    k o p r, other               other

"Electronic" is one of
  * form of item o/q/s (online, direct electronic, electronic) in 008/23 — 008/29 for maps
    (e f) and visual materials (g k o r) — or in a 006 (006/06, 006/12 for those types);
  * form of item not coded (blank, "|", missing) and either a 007 for a *remote* electronic
    resource (007/00-01 "cr") or a 007 electronic resource (007/00 "c") together with an 856
    whose second indicator is 0 ("the resource itself").
An explicit print/microform form of item (a b c d f r) is never overridden by a 007 "cr": a
microfiche record with an online 007 stays a book.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["detect_format", "is_electronic", "record_type_of"]

_HOLDINGS_TYPES = frozenset("uvxy")
_BIBLIOGRAPHIC_TYPES = frozenset("acdefgijkmoprt")
_ELECTRONIC_FORMS = frozenset("oqs")
_UNCODED_FORMS = frozenset(" |#\\")
_MAP_VISUAL_TYPES = frozenset("efgkor")

# leader/06 -> format for types whose format does not depend on leader/07
_BY_TYPE = {
    "e": "map", "f": "map",
    "c": "score", "d": "score",
    "g": "video",
    "i": "audio", "j": "audio",
}


def record_type_of(leader: str) -> str:
    """``holdings`` (leader/06 u v x y), ``authority`` (z), ``other`` for community information
    (q) — and ``bibliographic`` for every bibliographic type *and* for a leader too damaged to
    say, because a record with a broken leader that reached us is still most likely a bib."""
    kind = leader[6:7]
    if kind in _HOLDINGS_TYPES:
        return "holdings"
    if kind == "z":
        return "authority"
    if kind == "q":
        return "other"
    return "bibliographic"


def _form_of_item(kind: str, f008: str, f006s: Iterable[str]) -> str:
    """The form-of-item code of 008, else of the first 006 that has one coded."""
    pos = 29 if kind in _MAP_VISUAL_TYPES else 23
    form = f008[pos:pos + 1]
    if form in _ELECTRONIC_FORMS or (form and form not in _UNCODED_FORMS):
        return form
    for f006 in f006s:
        pos = 12 if f006[:1] in _MAP_VISUAL_TYPES else 6
        code = f006[pos:pos + 1]
        if code in _ELECTRONIC_FORMS:
            return code
    return form


def is_electronic(
    kind: str, f008: str, f006s: Iterable[str], f007s: Iterable[str], has_856_resource: bool
) -> bool:
    form = _form_of_item(kind, f008, f006s)
    if form in _ELECTRONIC_FORMS:
        return True
    if form and form not in _UNCODED_FORMS:
        return False                       # explicitly print, microform, braille...
    for f007 in f007s:
        if f007[:2] == "cr" or (f007[:1] == "c" and has_856_resource):
            return True
    return False


def detect_format(
    leader: str,
    f008: str = "",
    f006s: Iterable[str] = (),
    f007s: Iterable[str] = (),
    has_856_resource: bool = False,
) -> str:
    """The LibGate format (one of ``protocols.records.FORMATS``) of a bibliographic record."""
    kind = leader[6:7]
    level = leader[7:8]
    if kind in ("a", "t"):
        if level in ("a", "b"):
            return "article"
        electronic = is_electronic(kind, f008, f006s, f007s, has_856_resource)
        if level in ("s", "i"):
            return "e-journal" if electronic else "serial"
        return "ebook" if electronic else "book"
    if kind == "m":
        if level in ("s", "i"):
            return "e-journal"
        return "ebook" if f008[26:27] == "d" else "other"
    return _BY_TYPE.get(kind, "other")
