"""SRU searchRetrieve for a client: request arguments, response parsing, diagnostics.

    requests.py   search_retrieve_params(query, start_record=..., maximum_records=...)
    responses.py  parse_search_retrieve(data) → SruPage (SRU 1.1/1.2 and 2.0, xml/string packing)
    errors.py     SruError and its subclasses, DIAGNOSTICS (diagnostic number → class, meaning)

Sans-I/O: bytes in, typed objects out. Written against Index Data Zebra/YAZ (see
shared/peers/README.md for the quirks coded against).
"""

from protocols.sru.errors import (
    DIAGNOSTICS, SruEndpointError, SruError, SruQueryError, SruRecordPositionError,
    SruResultSetError, SruSchemaError, SruSystemError, SruUnsupportedError, sru_error,
)
from protocols.sru.requests import search_retrieve_params
from protocols.sru.responses import (
    SRU1_NS, SRU2_NS, SruDiagnostic, SruPage, SruRecord, parse_search_retrieve,
)

__all__ = [
    "DIAGNOSTICS", "SruError", "SruSystemError", "SruUnsupportedError", "SruQueryError",
    "SruRecordPositionError", "SruSchemaError", "SruResultSetError", "SruEndpointError",
    "sru_error", "search_retrieve_params", "SRU1_NS", "SRU2_NS", "SruDiagnostic", "SruRecord",
    "SruPage", "parse_search_retrieve",
]
