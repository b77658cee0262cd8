"""SRU errors: fatal diagnostics (info:srw/diagnostic/1/N) and answers that are not SRU.

    ProtocolError
    └── SruError                      base; ``uri``, ``details``, ``diagnostic_message``
        ├── SruSystemError            1-3: the server failed or is busy (retry later)
        ├── SruUnsupportedError       4-9, 50-55, 71-74, 110-111: a request feature it lacks
        ├── SruQueryError             10-49, 80-94: the query (or its sortby) was refused
        ├── SruRecordPositionError    61, 120: startRecord / responsePosition out of range
        ├── SruSchemaError            66, 67, 69: unknown record schema, or not in that schema
        ├── SruResultSetError         51-60: result set gone, too large
        └── SruEndpointError          an HTML page, a 404, anything that is not SRU XML

``DIAGNOSTICS`` maps the diagnostic number to (class, meaning); look-ups go through it, an
unknown number is a plain ``SruError``.
"""

from __future__ import annotations

import re

from protocols.errors import ProtocolError

__all__ = [
    "SruError", "SruSystemError", "SruUnsupportedError", "SruQueryError",
    "SruRecordPositionError", "SruSchemaError", "SruResultSetError", "SruEndpointError",
    "DIAGNOSTICS", "DIAGNOSTIC_PREFIX", "diagnostic_number", "sru_error",
]

DIAGNOSTIC_PREFIX = "info:srw/diagnostic/1/"


class SruError(ProtocolError):
    """An SRU server that answered with a fatal diagnostic or with something else than SRU."""

    status_hint = 502

    def __init__(self, message: str, *, uri: str = "", details: str = "",
                 diagnostic_message: str = "") -> None:
        super().__init__(message)
        self.uri = uri
        self.details = details
        self.diagnostic_message = diagnostic_message


class SruSystemError(SruError):
    status_hint = 503


class SruUnsupportedError(SruError):
    pass


class SruQueryError(SruError):
    status_hint = 400


class SruRecordPositionError(SruError):
    status_hint = 400


class SruSchemaError(SruError):
    pass


class SruResultSetError(SruError):
    pass


class SruEndpointError(SruError):
    pass


_Q, _U = SruQueryError, SruUnsupportedError
DIAGNOSTICS: dict[int, tuple[type[SruError], str]] = {
    1: (SruSystemError, "General system error"),
    2: (SruSystemError, "System temporarily unavailable"),
    3: (SruSystemError, "Authentication error"),
    4: (_U, "Unsupported operation"),
    5: (_U, "Unsupported version"),
    6: (_U, "Unsupported parameter value"),
    7: (_U, "Mandatory parameter not supplied"),
    8: (_U, "Unsupported parameter"),
    9: (_U, "Unsupported combination of parameters"),
    10: (_Q, "Query syntax error"),
    12: (_Q, "Too many characters in query"),
    13: (_Q, "Invalid or unsupported use of parentheses"),
    14: (_Q, "Invalid or unsupported use of quotes"),
    15: (_Q, "Unsupported context set"),
    16: (_Q, "Unsupported index"),
    18: (_Q, "Unsupported combination of indexes"),
    19: (_Q, "Unsupported relation"),
    20: (_Q, "Unsupported relation modifier"),
    21: (_Q, "Unsupported combination of relation modifers"),
    22: (_Q, "Unsupported combination of relation and index"),
    23: (_Q, "Too many characters in term"),
    24: (_Q, "Unsupported combination of relation and term"),
    26: (_Q, "Non special character escaped in term"),
    27: (_Q, "Empty term unsupported"),
    28: (_Q, "Masking character not supported"),
    29: (_Q, "Masked words too short"),
    30: (_Q, "Too many masking characters in term"),
    31: (_Q, "Anchoring character not supported"),
    32: (_Q, "Anchoring character in unsupported position"),
    33: (_Q, "Combination of proximity/adjacency and masking characters not supported"),
    34: (_Q, "Combination of proximity/adjacency and anchoring characters not supported"),
    35: (_Q, "Term contains only stopwords"),
    36: (_Q, "Term in invalid format for index or relation"),
    37: (_Q, "Unsupported boolean operator"),
    38: (_Q, "Too many boolean operators in query"),
    39: (_Q, "Proximity not supported"),
    40: (_Q, "Unsupported proximity relation"),
    41: (_Q, "Unsupported proximity distance"),
    42: (_Q, "Unsupported proximity unit"),
    43: (_Q, "Unsupported proximity ordering"),
    44: (_Q, "Unsupported combination of proximity modifiers"),
    46: (_Q, "Unsupported boolean modifier"),
    47: (_Q, "Cannot process query; reason unknown"),
    48: (_Q, "Query feature unsupported"),
    49: (_Q, "Masking character in unsupported position"),
    50: (_U, "Result sets not supported"),
    51: (SruResultSetError, "Result set does not exist"),
    52: (SruResultSetError, "Result set temporarily unavailable"),
    53: (_U, "Result sets only supported for retrieval"),
    55: (_U, "Combination of result sets with search terms not supported"),
    58: (SruResultSetError, "Result set created with unpredictable partial results available"),
    59: (SruResultSetError, "Result set created with valid partial results available"),
    60: (SruResultSetError, "Result set not created: too many matching records"),
    61: (SruRecordPositionError, "First record position out of range"),
    64: (SruError, "Record temporarily unavailable"),
    65: (SruError, "Record does not exist"),
    66: (SruSchemaError, "Unknown schema for retrieval"),
    67: (SruSchemaError, "Record not available in this schema"),
    68: (SruError, "Not authorised to send record"),
    69: (SruSchemaError, "Not authorised to send record in this schema"),
    70: (SruError, "Record too large to send"),
    71: (_U, "Unsupported record packing"),
    72: (_U, "XPath retrieval unsupported"),
    73: (_U, "XPath expression contains unsupported feature"),
    74: (_U, "Unable to evaluate XPath expression"),
    80: (_Q, "Sort not supported"),
    82: (_Q, "Unsupported sort sequence"),
    83: (_Q, "Too many records to sort"),
    84: (_Q, "Too many sort keys to sort"),
    86: (_Q, "Cannot sort: incompatible record formats"),
    87: (_Q, "Unsupported schema for sort"),
    88: (_Q, "Unsupported path for sort"),
    89: (_Q, "Path unsupported for schema"),
    90: (_Q, "Unsupported direction"),
    91: (_Q, "Unsupported case"),
    92: (_Q, "Unsupported missing value action"),
    93: (_Q, "Sort ended due to missing value"),
    110: (_U, "Stylesheets not supported"),
    111: (_U, "Unsupported stylesheet"),
    120: (SruRecordPositionError, "Response position out of range"),
}

_NUMBER = re.compile(r"info:srw/diagnostic/1/(\d{1,6})")


def diagnostic_number(uri: str) -> int | None:
    """N of ``info:srw/diagnostic/1/N`` (None for another diagnostic set)."""
    match = _NUMBER.fullmatch(uri.strip())
    return int(match.group(1)) if match else None


def sru_error(uri: str, details: str = "", message: str = "", *,
              query: str | None = None) -> SruError:
    """The typed error for a fatal diagnostic; the message names the URI and, for a query
    error, the query that was refused."""
    number = diagnostic_number(uri)
    cls, meaning = DIAGNOSTICS.get(number if number is not None else -1, (SruError, ""))
    said = message or meaning or "no message"
    text = f"SRU diagnostic {uri} ({said})"
    if details:
        text += f", details {details!r}"
    if cls is SruQueryError:
        text = f"the SRU server refused the query {query!r}: {text}" if query is not None \
            else f"the SRU server refused the query: {text}"
    elif cls is SruRecordPositionError:
        text = f"{text}: startRecord is past the end of the result set"
    elif cls is SruSchemaError:
        text = f"{text}: check the recordSchema configured for this endpoint"
    return cls(text, uri=uri, details=details, diagnostic_message=message)
