"""Licence terms for interlibrary loan of e-resources, in the ERM (DLF ERMI) vocabulary.

A licence applies to a package (every title a member loaded under that package name) or to one
title (by ISSN/ISBN); a title's own terms win over its package's. Each of ``illElectronic``,
``illSecureElectronic`` and ``illPrint`` holds one of the ERM values below. A licence may carry an
**emergency opening**: a date range during which the publisher opened the content to the whole
consortium (then electronic ILL is allowed whatever the term says, and that is recorded).

Licence files are TOML::

    [[licence]]
    package = "Springer Journals 2026"
    illElectronic = "Prohibited (explicit)"
    illSecureElectronic = "Permitted (explicit) under conditions"
    illPrint = "Permitted (explicit)"
    note = "Secure electronic transmission (Ariel/Odyssey) only"
    emergency_opening = { from = "2026-03-15", until = "2026-06-30" }

    [[licence]]
    title = "0028-0836"
    illElectronic = "Permitted (interpreted)"
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import tomllib
from dataclasses import dataclass

from protocols.eresources.coverage import CoverageError, parse_date

TERMS = ("illElectronic", "illSecureElectronic", "illPrint")


class TermValue(enum.StrEnum):
    PERMITTED_EXPLICIT = "Permitted (explicit)"
    PERMITTED_EXPLICIT_CONDITIONS = "Permitted (explicit) under conditions"
    PERMITTED_INTERPRETED = "Permitted (interpreted)"
    PROHIBITED_EXPLICIT = "Prohibited (explicit)"
    PROHIBITED_INTERPRETED = "Prohibited (interpreted)"
    UNMENTIONED = "Unmentioned"
    NOT_APPLICABLE = "Not applicable"

    @property
    def permits(self) -> bool:
        return self.name.startswith("PERMITTED")


_ALIASES = {v.value.casefold(): v for v in TermValue} | {
    "silent (uninterpreted)": TermValue.UNMENTIONED, "silent": TermValue.UNMENTIONED,
    "n/a": TermValue.NOT_APPLICABLE,
}


class LicenceError(ValueError):
    """A licence entry that cannot be used; names the entry and the value."""


def term_value(text: str, where: str) -> TermValue:
    found = _ALIASES.get(text.strip().casefold())
    if found is None:
        raise LicenceError(f"{where}: {text!r} is not an ERM term value; expected one of "
                           + ", ".join(repr(v.value) for v in TermValue))
    return found


@dataclass(frozen=True, slots=True)
class Licence:
    package: str | None
    title: str | None                      # ISSN or ISBN the licence is limited to
    terms: dict[str, TermValue]
    emergency_from: dt.date | None = None
    emergency_until: dt.date | None = None
    note: str | None = None

    def term(self, name: str) -> TermValue:
        return self.terms.get(name, TermValue.UNMENTIONED)

    def emergency_open(self, day: dt.date) -> bool:
        return (self.emergency_from is not None and self.emergency_from <= day
                and (self.emergency_until is None or day <= self.emergency_until))


_TABLE_RE = re.compile(r"^\s*\[\[\s*licence\s*\]\]")


def parse_licences(text: str, source: str = "licence file") -> list[Licence]:
    """Every licence of the file, or LicenceError naming the first bad one. A bad entry refuses
    the whole file: loading the rest could leave a title without its stricter own terms, and
    its package's would then allow what the licence forbids."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LicenceError(f"{source}: not valid TOML: {exc}") from None
    entries = data.get("licence", [])
    if not isinstance(entries, list) or not entries:
        raise LicenceError(f"{source}: expected [[licence]] tables")
    # where each [[licence]] table starts, so a refusal names the line as well as the entry
    starts = [number for number, line in enumerate(text.split("\n"), start=1)
              if _TABLE_RE.match(line)]
    found = []
    for n, entry in enumerate(entries, start=1):
        where = f"{source}, licence #{n}" + (
            f" (line {starts[n - 1]})" if len(starts) == len(entries) else "")
        package, title = entry.get("package"), entry.get("title")
        if not package and not title:
            raise LicenceError(f"{where}: give a package or a title (ISSN/ISBN)")
        unknown = set(entry) - {"package", "title", "note", "emergency_opening", *TERMS}
        if unknown:
            raise LicenceError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        terms = {t: term_value(str(entry[t]), f"{where}, {t}") for t in TERMS if t in entry}
        opening = entry.get("emergency_opening") or {}
        try:
            start = parse_date(str(opening["from"])) if "from" in opening else None
            end = parse_date(str(opening["until"]), end=True) if "until" in opening else None
        except CoverageError as exc:
            raise LicenceError(f"{where}, emergency_opening: {exc}") from None
        if opening and start is None:
            raise LicenceError(f"{where}, emergency_opening: needs a 'from' date")
        found.append(Licence(package=package, title=title, terms=terms, emergency_from=start,
                             emergency_until=end, note=entry.get("note")))
    return found


@dataclass(frozen=True, slots=True)
class LicenceVerdict:
    allowed: bool
    term: str | None            # which term (or "emergency opening") allowed it
    value: str                  # the ERM value (or the opening's dates)
    reason: str


def copy_permission(licence: Licence | None, day: dt.date, *,
                    accept_print: bool = False) -> LicenceVerdict:
    """May a member fill a Copy request from this licensed content on ``day``?

    Electronic first, then secure electronic, then print (only when the requester accepts a
    printed copy); an emergency opening allows electronic delivery whatever the terms say.
    """
    if licence is None:
        return LicenceVerdict(False, None, "no licence", "no licence loaded for this title")
    if licence.emergency_open(day):
        window = f"{licence.emergency_from}..{licence.emergency_until or ''}"
        return LicenceVerdict(True, "emergency opening", window,
                              f"publisher's emergency opening {window}")
    order = list(TERMS[:2]) + (["illPrint"] if accept_print else [])
    for name in order:
        value = licence.term(name)
        if value.permits:
            return LicenceVerdict(True, name, value.value, f"{name}: {value.value}")
    said = "; ".join(f"{t}: {licence.term(t).value}" for t in order)
    return LicenceVerdict(False, None, said, f"licence does not permit: {said}")
