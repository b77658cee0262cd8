"""OAI-PMH 2.0 for a harvester: request arguments, response parsing, datestamps, repairs.

    errors.py     OAIError and its eight codes (ERRORS_BY_CODE), HarvestPageError, DatestampError
    model.py      Header, OaiRecord, ResumptionToken, ListPage, Identify, MetadataFormat, OaiSet
    responses.py  parse_list_page / parse_identify / parse_metadata_formats / parse_sets /
                  parse_get_record (strict first, then the lenient path)
    repair.py     repair_xml_bytes (illegal characters, non-UTF-8 bytes), maybe_decompress
    salvage.py    record-by-record salvage of a page that stays broken
    requests.py   verb → dict[str, str] of request arguments
    dates.py      datestamps, granularity, the next incremental ``from``

Sans-I/O: bytes in, typed objects out.
"""

from protocols.oaipmh.dates import (
    DAY, SECONDS, format_datestamp, next_from, normalize_granularity, parse_datestamp,
)
from protocols.oaipmh.errors import (
    ERRORS_BY_CODE, BadArgument, BadResumptionToken, BadVerb, CannotDisseminateFormat,
    DatestampError, HarvestPageError, IdDoesNotExist, NoMetadataFormats, NoRecordsMatch,
    NoSetHierarchy, OAIError, oai_error,
)
from protocols.oaipmh.model import (
    Header, Identify, ListPage, MetadataFormat, OaiRecord, OaiSet, ResumptionToken,
)
from protocols.oaipmh.repair import maybe_decompress, repair_xml_bytes
from protocols.oaipmh.requests import (
    get_record_params, identify_params, list_identifiers_params, list_metadata_formats_params,
    list_records_params, list_sets_params, resume_params,
)
from protocols.oaipmh.responses import (
    parse_get_record, parse_identify, parse_list_page, parse_metadata_formats, parse_sets,
)

__all__ = [
    "DAY", "SECONDS", "format_datestamp", "next_from", "normalize_granularity", "parse_datestamp",
    "ERRORS_BY_CODE", "OAIError", "BadArgument", "BadResumptionToken", "BadVerb",
    "CannotDisseminateFormat", "IdDoesNotExist", "NoRecordsMatch", "NoMetadataFormats",
    "NoSetHierarchy", "HarvestPageError", "DatestampError", "oai_error",
    "Header", "OaiRecord", "ResumptionToken", "ListPage", "Identify", "MetadataFormat", "OaiSet",
    "maybe_decompress", "repair_xml_bytes",
    "identify_params", "list_metadata_formats_params", "list_sets_params",
    "list_identifiers_params", "list_records_params", "get_record_params", "resume_params",
    "parse_list_page", "parse_identify", "parse_metadata_formats", "parse_sets",
    "parse_get_record",
]
