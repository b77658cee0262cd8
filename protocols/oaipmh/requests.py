"""OAI-PMH request arguments for a harvester: one function per verb → ``dict[str, str]``.

The connector turns the dict into a query string (GET) or a form body (POST). Wrong use is
a bug in our code, so it raises ``ValueError``, never a protocol error.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from protocols.oaipmh.dates import DAY, SECONDS, format_datestamp, parse_datestamp
from protocols.oaipmh.errors import DatestampError

__all__ = [
    "VERBS", "RESUMABLE_VERBS", "identify_params", "list_metadata_formats_params",
    "list_sets_params", "list_identifiers_params", "list_records_params", "get_record_params",
    "resume_params",
]

VERBS = ("Identify", "ListMetadataFormats", "ListSets", "ListIdentifiers", "ListRecords",
         "GetRecord")
RESUMABLE_VERBS = ("ListSets", "ListIdentifiers", "ListRecords")

Datestamp = str | date | datetime

# What we send is exactly the protocol's two forms (what we accept from servers is laxer).
_STRICT_DATESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?")


def identify_params() -> dict[str, str]:
    return {"verb": "Identify"}


def list_metadata_formats_params(identifier: str | None = None) -> dict[str, str]:
    params = {"verb": "ListMetadataFormats"}
    if identifier is not None:
        params["identifier"] = _required("identifier", identifier)
    return params


def list_sets_params() -> dict[str, str]:
    return {"verb": "ListSets"}


def list_records_params(metadata_prefix: str, *, from_: Datestamp | None = None,
                        until: Datestamp | None = None,
                        set_spec: str | None = None) -> dict[str, str]:
    """ListRecords arguments; ``from_``/``until`` as strings or (date)times, same granularity."""
    return _list_params("ListRecords", metadata_prefix, from_, until, set_spec)


def list_identifiers_params(metadata_prefix: str, *, from_: Datestamp | None = None,
                            until: Datestamp | None = None,
                            set_spec: str | None = None) -> dict[str, str]:
    return _list_params("ListIdentifiers", metadata_prefix, from_, until, set_spec)


def get_record_params(identifier: str, metadata_prefix: str) -> dict[str, str]:
    return {"verb": "GetRecord", "identifier": _required("identifier", identifier),
            "metadataPrefix": _required("metadata_prefix", metadata_prefix)}


def resume_params(verb: str, token: object) -> dict[str, str]:
    """The next page of a list: only the verb and the resumptionToken (the token is exclusive).

    ``token`` is the token string or a ``ResumptionToken`` (its ``value`` is sent).
    """
    if verb not in RESUMABLE_VERBS:
        raise ValueError(f"verb {verb!r} has no resumptionToken; expected one of "
                         f"{', '.join(RESUMABLE_VERBS)}")
    value = getattr(token, "value", token)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"resumptionToken must be a non-empty string, got {value!r}")
    return {"verb": verb, "resumptionToken": value}


def _list_params(verb: str, metadata_prefix: str, from_: Datestamp | None,
                 until: Datestamp | None, set_spec: str | None) -> dict[str, str]:
    params = {"verb": verb, "metadataPrefix": _required("metadata_prefix", metadata_prefix)}
    if from_ is not None:
        params["from"] = _datestamp("from_", from_)
    if until is not None:
        params["until"] = _datestamp("until", until)
    if from_ is not None and until is not None:
        # the protocol requires one granularity for both (badArgument otherwise)
        if len(params["from"]) != len(params["until"]):
            raise ValueError(f"from {params['from']!r} and until {params['until']!r} must have "
                             "the same granularity")
        if params["from"] > params["until"]:
            raise ValueError(f"from {params['from']!r} is after until {params['until']!r}")
    if set_spec is not None:
        params["set"] = _required("set_spec", set_spec)
    return params


def _datestamp(name: str, value: Datestamp) -> str:
    if isinstance(value, datetime):
        return format_datestamp(value, SECONDS)
    if isinstance(value, date):
        return format_datestamp(value, DAY)
    text = _required(name, value)
    if not _STRICT_DATESTAMP.fullmatch(text):
        raise ValueError(f"{name} must be written {DAY} or {SECONDS}, got {text!r}")
    try:
        parse_datestamp(text)
    except DatestampError as err:
        raise ValueError(f"{name}: {err}") from None
    return text


def _required(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value
