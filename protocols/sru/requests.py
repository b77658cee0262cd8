"""SRU searchRetrieve request arguments → ``dict[str, str]`` (a query string for GET).

Coded against Index Data Zebra/YAZ (shared/peers/README.md, "Quirks to code against"):

* ``maximumRecords`` is always sent — without it YAZ answers 0 records and only a count;
* SRU 2.0 is asked for by leaving ``version`` out: YAZ answers ``version=2.0`` with
  diagnostic 5 "Unsupported version" but serves 2.0 when no version is given;
* 2.0 names the record escaping ``recordXMLEscaping``; ``recordPacking`` there means
  packed/unpacked and YAZ ignores ``recordPacking=string`` in 2.0 (checked against Zebra
  2.2.7 / YAZ 5.34), so the escaping goes in the parameter of the version asked for;
* YAZ never sends ``nextRecordPosition``: page with ``start_record`` += page size.
"""

from __future__ import annotations

__all__ = ["SRU_VERSIONS", "RECORD_PACKINGS", "search_retrieve_params"]

SRU_VERSIONS = ("1.1", "1.2", "2.0")
RECORD_PACKINGS = ("xml", "string")


def search_retrieve_params(query: str, *, start_record: int, maximum_records: int,
                           record_schema: str = "marcxml", version: str = "1.2",
                           record_packing: str = "xml") -> dict[str, str]:
    """Arguments of one searchRetrieve page (positions are 1-based, as in SRU)."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a non-empty CQL string, got {query!r}")
    if version not in SRU_VERSIONS:
        raise ValueError(f"unknown SRU version {version!r}; expected one of "
                         f"{', '.join(SRU_VERSIONS)}")
    if isinstance(start_record, bool) or not isinstance(start_record, int) or start_record < 1:
        raise ValueError(f"start_record is 1-based, got {start_record!r}")
    if (isinstance(maximum_records, bool) or not isinstance(maximum_records, int)
            or maximum_records < 0):
        raise ValueError(f"maximum_records must be an int >= 0, got {maximum_records!r}")
    if record_packing not in RECORD_PACKINGS:
        raise ValueError(f"unknown record packing {record_packing!r}; expected one of "
                         f"{', '.join(RECORD_PACKINGS)}")
    params = {"operation": "searchRetrieve"}
    if version != "2.0":
        params["version"] = version
    params["query"] = query
    params["startRecord"] = str(start_record)
    params["maximumRecords"] = str(maximum_records)
    if record_schema:
        params["recordSchema"] = record_schema
    params["recordXMLEscaping" if version == "2.0" else "recordPacking"] = record_packing
    return params
