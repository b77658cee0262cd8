"""OAI-PMH errors: the eight protocol error codes, plus pages that are not OAI-PMH at all.

    ProtocolError
    ├── OAIError                      an <error code="..."> from the repository; ``code`` on the
    │   │                             instance (a code outside the eight stays a plain OAIError)
    │   ├── BadArgument               badArgument
    │   ├── BadResumptionToken        badResumptionToken
    │   ├── BadVerb                   badVerb
    │   ├── CannotDisseminateFormat   cannotDisseminateFormat
    │   ├── IdDoesNotExist            idDoesNotExist
    │   ├── NoRecordsMatch            noRecordsMatch (parse_list_page answers an empty page instead)
    │   ├── NoMetadataFormats         noMetadataFormats
    │   └── NoSetHierarchy            noSetHierarchy
    ├── HarvestPageError              a page that cannot be read at all, or is not OAI-PMH
    └── DatestampError                a datestamp / granularity that is not OAI-PMH's

``status_hint`` is what one of our views should answer when it passes the error on: a
client mistake (bad argument, unknown id) maps to 4xx, a repository that talks garbage to 502.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from protocols.errors import ProtocolError

if TYPE_CHECKING:  # pragma: no cover
    from protocols.oaipmh.responses import ListPage

__all__ = [
    "OAIError", "BadArgument", "BadResumptionToken", "BadVerb", "CannotDisseminateFormat",
    "IdDoesNotExist", "NoRecordsMatch", "NoMetadataFormats", "NoSetHierarchy",
    "ERRORS_BY_CODE", "oai_error", "HarvestPageError", "DatestampError",
]


class OAIError(ProtocolError):
    """An OAI-PMH ``<error>``: ``code`` is the wire code, ``text`` the repository's own words."""

    code: ClassVar[str] = ""
    status_hint = 400

    def __init__(self, message: str, *, code: str | None = None, text: str = "") -> None:
        super().__init__(message)
        if code is not None and code != type(self).code:
            # an instance attribute shadows the class attribute: generic OAIError for unknown codes
            self.code = code  # type: ignore[misc]
        self.text = text


class BadArgument(OAIError):
    code = "badArgument"


class BadResumptionToken(OAIError):
    code = "badResumptionToken"


class BadVerb(OAIError):
    code = "badVerb"


class CannotDisseminateFormat(OAIError):
    code = "cannotDisseminateFormat"


class IdDoesNotExist(OAIError):
    code = "idDoesNotExist"
    status_hint = 404


class NoRecordsMatch(OAIError):
    code = "noRecordsMatch"
    status_hint = 404


class NoMetadataFormats(OAIError):
    code = "noMetadataFormats"
    status_hint = 404


class NoSetHierarchy(OAIError):
    code = "noSetHierarchy"
    status_hint = 404


ERRORS_BY_CODE: dict[str, type[OAIError]] = {
    "badArgument": BadArgument,
    "badResumptionToken": BadResumptionToken,
    "badVerb": BadVerb,
    "cannotDisseminateFormat": CannotDisseminateFormat,
    "idDoesNotExist": IdDoesNotExist,
    "noRecordsMatch": NoRecordsMatch,
    "noMetadataFormats": NoMetadataFormats,
    "noSetHierarchy": NoSetHierarchy,
}


def oai_error(code: str, text: str = "", *, verb: str | None = None) -> OAIError:
    """The typed error for ``code`` (a plain ``OAIError`` carrying the code when it is unknown)."""
    cls = ERRORS_BY_CODE.get(code, OAIError)
    where = f" to {verb}" if verb else ""
    known = "" if code in ERRORS_BY_CODE else " (not one of the eight OAI-PMH error codes)"
    text = " ".join(text.split())
    said = f": {text!r}" if text else ""
    return cls(f"repository answered{where} with OAI-PMH error {code!r}{known}{said}",
               code=code, text=text)


class HarvestPageError(ProtocolError):
    """A harvested page that cannot be parsed at all, or that is not an OAI-PMH response.

    Stops the member's harvest loudly. ``partial`` holds what could be salvaged when the
    page was cut short (its records can be stored, but the list cannot go on from it).
    """

    status_hint = 502

    def __init__(self, message: str, *, partial: ListPage | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class DatestampError(ProtocolError):
    """A datestamp or granularity string that OAI-PMH does not allow."""
