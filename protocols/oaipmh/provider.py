"""OAI-PMH 2.0 for our own repository (the union catalogue): what a harvester may ask.

    parse_request(pairs)          → one typed request per verb, or the OAIError to answer
    parse_date_argument(value)    → (moment, granularity) of a from/until argument
    date_window(from_, until)     → [start, end) in UTC for the store query
    member_set_spec / format_set_spec / set_specs_for(record)

Only the protocol's rules live here (which arguments each verb takes, which are exclusive,
which dates are legal); the store queries are in ``gateway/oai_provider.py``. Sans-I/O.

Sets: ``member`` (every cluster), ``member:<code>`` (clusters holding a record of that
member), ``format`` and ``format:<format>``. A member code may hold characters a setSpec
cannot (an ISIL allows ``/`` and ``:``); they are written ``~XX`` (hex), ``~`` itself too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from protocols.oaipmh.dates import DAY, SECONDS, parse_datestamp
from protocols.oaipmh.errors import (
    BadArgument, BadResumptionToken, BadVerb, DatestampError, OAIError,
)
from protocols.oaipmh.requests import VERBS
from protocols.union import UnionRecord

__all__ = [
    "METADATA_FORMATS", "MetadataFormatSpec", "OaiRequest", "ListRequest", "parse_request",
    "parse_date_argument", "date_window", "member_set_spec", "format_set_spec",
    "set_specs_for", "cluster_identifier", "cluster_id_from_identifier", "MEMBER_SET",
    "FORMAT_SET",
]

MEMBER_SET = "member"
FORMAT_SET = "format"


@dataclass(frozen=True, slots=True)
class MetadataFormatSpec:
    prefix: str
    schema: str
    namespace: str


METADATA_FORMATS: dict[str, MetadataFormatSpec] = {
    "marc21": MetadataFormatSpec("marc21", "http://www.loc.gov/standards/marcxml/schema/"
                                 "MARC21slim.xsd", "http://www.loc.gov/MARC21/slim"),
    "oai_dc": MetadataFormatSpec("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
                                 "http://www.openarchives.org/OAI/2.0/oai_dc/"),
}

# the arguments each verb may carry besides ``verb``: (required, optional, exclusive)
_ARGUMENTS: dict[str, tuple[frozenset[str], frozenset[str], str | None]] = {
    "Identify": (frozenset(), frozenset(), None),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"}), None),
    "ListSets": (frozenset(), frozenset(), "resumptionToken"),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}),
                        "resumptionToken"),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}),
                    "resumptionToken"),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset(), None),
}

# what XML 1.0 cannot carry (an argument holding it could not be echoed in <request>)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_METADATA_PREFIX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_SET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!*'()")


@dataclass(frozen=True, slots=True)
class OaiRequest:
    """A request whose arguments are legal for its verb (values not yet looked up)."""

    verb: str
    arguments: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.arguments.get(name)


@dataclass(frozen=True, slots=True)
class ListRequest:
    """ListIdentifiers / ListRecords after validation: the query a resumption token carries."""

    verb: str
    metadata_prefix: str
    set_spec: str | None = None
    from_: str | None = None          # as the harvester wrote it (the token keeps it verbatim)
    until: str | None = None


def parse_request(pairs: Iterable[tuple[str, str]]) -> OaiRequest:
    """Check the request's arguments against its verb; raise the OAIError to answer.

    ``pairs`` are the query (GET) or form (POST) arguments in order, repeats included.
    """
    seen: dict[str, list[str]] = {}
    for name, value in pairs:
        seen.setdefault(name, []).append(value)
    verbs = seen.pop("verb", [])
    if not verbs:
        raise BadVerb("the verb argument is missing")
    if len(verbs) > 1:
        raise BadVerb(f"the verb argument is repeated: {verbs!r}")
    verb = verbs[0]
    if verb not in _ARGUMENTS:
        raise BadVerb(f"unknown verb {verb!r}; expected one of {', '.join(VERBS)}")
    unprintable = sorted(repr(name) for name, values in seen.items()
                         if _XML_ILLEGAL.search(name) or any(map(_XML_ILLEGAL.search, values)))
    if unprintable:
        raise BadArgument(f"argument(s) {', '.join(unprintable)} hold characters XML cannot "
                          "carry")
    repeated = sorted(name for name, values in seen.items() if len(values) > 1)
    if repeated:
        raise BadArgument(f"argument repeated: {', '.join(map(repr, repeated))}")
    arguments = {name: values[0] for name, values in seen.items()}
    required, optional, exclusive = _ARGUMENTS[verb]
    allowed = required | optional | ({exclusive} if exclusive else set())
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        raise BadArgument(f"{verb} does not take the argument(s) "
                          f"{', '.join(map(repr, unknown))}")
    empty = sorted(name for name, value in arguments.items() if not value.strip())
    if empty:
        raise BadArgument(f"argument(s) with an empty value: {', '.join(empty)}")
    if exclusive and exclusive in arguments:
        others = sorted(set(arguments) - {exclusive})
        if others:
            raise BadArgument(f"{exclusive} is exclusive; it came with {', '.join(others)}")
        return OaiRequest(verb, arguments)
    missing = sorted(required - set(arguments))
    if missing:
        raise BadArgument(f"{verb} needs the argument(s) {', '.join(missing)}")
    if "from" in arguments or "until" in arguments:
        _check_dates(arguments.get("from"), arguments.get("until"))
    if "metadataPrefix" in arguments and not _METADATA_PREFIX.fullmatch(
            arguments["metadataPrefix"]):
        raise BadArgument(f"not a metadataPrefix: {arguments['metadataPrefix']!r}")
    if "set" in arguments and not is_set_spec(arguments["set"]):
        raise BadArgument(f"not a setSpec: {arguments['set']!r}")
    return OaiRequest(verb, arguments)


_STRICT_LENGTHS = {10: DAY, 20: SECONDS}


def parse_date_argument(value: str, name: str = "from") -> tuple[datetime, str]:
    """A from/until argument as a UTC datetime and its granularity; BadArgument otherwise.

    Only the protocol's two forms are legal here (``2024-01-31``, ``2024-01-31T12:00:00Z``);
    the laxer spellings the harvester side tolerates are refused.
    """
    granularity = _STRICT_LENGTHS.get(len(value)) if value.isascii() else None
    shape_ok = granularity == DAY or (granularity == SECONDS and value[10] == "T"
                                       and value.endswith("Z"))
    if not shape_ok:
        raise BadArgument(f"{name} {value!r} is not YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")
    try:
        return parse_datestamp(value), granularity
    except DatestampError as exc:
        raise BadArgument(f"{name} {value!r}: {exc}") from None


def _check_dates(from_: str | None, until: str | None) -> None:
    parsed = {name: parse_date_argument(value, name)
              for name, value in (("from", from_), ("until", until)) if value is not None}
    if len(parsed) == 2:
        (start, start_gran), (end, end_gran) = parsed["from"], parsed["until"]
        if start_gran != end_gran:
            raise BadArgument(f"from {from_!r} and until {until!r} differ in granularity")
        if start > end:
            raise BadArgument(f"from {from_!r} is later than until {until!r}")


def date_window(from_: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """The request's dates as a half-open UTC window [start, end) for the store.

    ``until`` is inclusive at its own granularity: ``until=2024-01-31`` takes the whole day,
    ``until=…T12:00:00Z`` the whole second (our datestamps keep sub-second precision).
    """
    start = parse_date_argument(from_, "from")[0] if from_ is not None else None
    end = None
    if until is not None:
        moment, granularity = parse_date_argument(until, "until")
        try:
            end = moment + (timedelta(days=1) if granularity == DAY else timedelta(seconds=1))
        except OverflowError:       # until=9999-12-31: no upper bound at all
            end = None
    return start, end


def list_request(request: OaiRequest) -> ListRequest:
    """The ListRequest of a ListIdentifiers/ListRecords request without a resumption token."""
    if request.verb not in ("ListIdentifiers", "ListRecords") or request.get("resumptionToken"):
        raise ValueError(f"not a first list request: {request!r}")
    return ListRequest(request.verb, request.arguments["metadataPrefix"],
                       request.get("set"), request.get("from"), request.get("until"))


def is_set_spec(value: str) -> bool:
    return all(part and set(part) <= _SET_CHARS | {"~"} for part in value.split(":"))


@functools.lru_cache(maxsize=4096)
def _escape(code: str) -> str:
    # a member code or format: few distinct ones, escaped again for every cluster
    return "".join(c if c in _SET_CHARS else "".join(f"~{b:02X}" for b in c.encode())
                   for c in code)


def member_set_spec(member: str) -> str:
    return f"{MEMBER_SET}:{_escape(member)}"


def format_set_spec(format_: str) -> str:
    return f"{FORMAT_SET}:{_escape(format_)}"


def set_specs_for(record: UnionRecord) -> list[str]:
    """Every set the cluster belongs to: both parents, its members' sets and its format's."""
    specs = [MEMBER_SET] if record.members else []
    specs += [member_set_spec(member) for member in record.members]
    specs += [FORMAT_SET, format_set_spec(record.format or "other")]
    return specs


def cluster_identifier(repository_identifier: str, cluster_id: int) -> str:
    return f"oai:{repository_identifier}:cluster/{cluster_id}"


def cluster_id_from_identifier(repository_identifier: str, identifier: str) -> int | None:
    """The cluster id an identifier names, or None when it is not one of ours."""
    prefix = f"oai:{repository_identifier}:cluster/"
    if not identifier.startswith(prefix):
        return None
    digits = identifier[len(prefix):]
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        return None
    return int(digits)


def unknown_token(token: str) -> OAIError:
    """ListSets never hands out tokens: any token given to it is not ours."""
    return BadResumptionToken(f"ListSets is answered in one response; no resumptionToken "
                              f"is valid for it (got {token[:40]!r})")
