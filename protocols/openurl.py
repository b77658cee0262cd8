"""OpenURL 1.0 (Z39.88-2004) key/encoded-value queries → the citation an ILL request needs.

Link resolvers and discovery systems send citations as OpenURL query strings; staff paste them
into `POST /api/ill/requests`. Both the 1.0 KEV form (``rft.atitle=…&rft.issn=…``, with
``rft_val_fmt`` naming the journal or book format) and the older 0.1 form (``atitle=…&issn=…``,
still sent by many resolvers) are read. Identifiers come from ``rft.isbn``/``rft.issn``/
``rft.eissn`` and from ``rft_id`` URIs (``info:oclcnum/…``, ``urn:isbn:…``, ``urn:ISSN:…``,
``info:doi/…``, ``info:pmid/…``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from protocols.errors import ProtocolError
from protocols.identifiers import normalize_isbn, normalize_issn, normalize_oclc

GENRES = ("article", "book", "bookitem", "journal", "issue", "proceeding", "conference",
          "preprint", "report", "document", "unknown")
_FORMATS = {"info:ofi/fmt:kev:mtx:journal": "journal", "info:ofi/fmt:kev:mtx:book": "book",
            "info:ofi/fmt:kev:mtx:dissertation": "book"}


class OpenUrlError(ProtocolError):
    status_hint = 400


@dataclass(slots=True)
class Citation:
    """What is asked for, as the broker and the licence check read it."""

    genre: str = "unknown"
    title: str | None = None            # book title, or the journal title for articles
    article_title: str | None = None    # atitle (article or chapter)
    author: str | None = None
    isbns: list[str] = field(default_factory=list)
    issns: list[str] = field(default_factory=list)
    oclc_numbers: list[str] = field(default_factory=list)
    doi: str | None = None
    pmid: str | None = None
    year: int | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    publisher: str | None = None

    @property
    def is_part(self) -> bool:
        """An article or a chapter: something a Copy request supplies."""
        return self.genre in ("article", "bookitem", "preprint") or bool(self.article_title)


def parse_openurl(query: str) -> Citation:
    """Parse an OpenURL query string (with or without a leading ``?`` or base URL)."""
    if "?" in query:
        query = query.split("?", 1)[1]
    pairs = parse_qsl(query.strip(), keep_blank_values=False)
    if not pairs:
        raise OpenUrlError(f"OpenURL {query[:60]!r} holds no key=value pairs")
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        key = key.strip()
        if key.startswith("rft."):
            key = key[4:]
        values.setdefault(key, []).append(value.strip())
    one = lambda key: next((v for v in values.get(key, []) if v), None)  # noqa: E731
    citation = Citation()
    fmt = _FORMATS.get(one("rft_val_fmt") or "", None)
    genre = (one("genre") or "").lower()
    if genre and genre not in GENRES:
        raise OpenUrlError(f"genre {genre!r} is not an OpenURL genre; expected one of "
                           + ", ".join(GENRES))
    citation.genre = genre or ("article" if fmt == "journal" and one("atitle") else
                               "book" if fmt == "book" else "unknown")
    citation.article_title = one("atitle")
    citation.title = one("jtitle") or one("btitle") or one("title") or one("stitle")
    citation.author = one("au") or _joined_name(one("aulast"), one("aufirst") or one("auinit"))
    for raw in values.get("isbn", []):
        _add(citation.isbns, normalize_isbn(raw), raw, "ISBN")
    for key in ("issn", "eissn"):
        for raw in values.get(key, []):
            _add(citation.issns, normalize_issn(raw), raw, "ISSN")
    for uri in values.get("rft_id", []) + values.get("id", []):
        _identifier_uri(citation, uri)
    date = one("date")
    if date:
        match = re.match(r"^\s*(\d{4})", date)
        if not match:
            raise OpenUrlError(f"date {date!r} does not start with a year")
        citation.year = int(match.group(1))
    citation.volume, citation.issue = one("volume"), one("issue")
    spage, epage = one("spage"), one("epage")
    citation.pages = one("pages") or (f"{spage}-{epage}" if spage and epage else spage)
    citation.publisher = one("pub") or one("publisher")
    if not (citation.title or citation.article_title or citation.isbns or citation.issns
            or citation.oclc_numbers or citation.doi or citation.pmid):
        raise OpenUrlError("the OpenURL names no title and no identifier "
                           "(rft.title/jtitle/btitle/atitle, rft.isbn/issn, rft_id)")
    return citation


def _add(target: list[str], normalized: str | None, raw: str, kind: str) -> None:
    if normalized is None:
        raise OpenUrlError(f"{kind} {raw!r} is not valid")
    if normalized not in target:
        target.append(normalized)


def _identifier_uri(citation: Citation, uri: str) -> None:
    lower = uri.lower()
    if lower.startswith("info:oclcnum/"):
        oclc = normalize_oclc(uri.split("/", 1)[1])
        if oclc is None:
            raise OpenUrlError(f"OCLC number in {uri!r} is not valid")
        if oclc not in citation.oclc_numbers:
            citation.oclc_numbers.append(oclc)
    elif lower.startswith("urn:isbn:"):
        _add(citation.isbns, normalize_isbn(uri[9:]), uri, "ISBN")
    elif lower.startswith("urn:issn:"):
        _add(citation.issns, normalize_issn(uri[9:]), uri, "ISSN")
    elif lower.startswith("info:doi/"):
        citation.doi = uri[9:]
    elif lower.startswith("info:pmid/"):
        citation.pmid = uri[10:]


def _joined_name(last: str | None, first: str | None) -> str | None:
    if not last:
        return None
    return f"{last}, {first}" if first else last
