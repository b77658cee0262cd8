"""ISO 18626 bytes <-> typed messages, for schema versions 1.2 and 2021-2.

``decode(data)`` returns a message of ``model`` or raises a typed ``Iso18626Error`` that says
how to answer (``confirm(error)``). It reads with the hardened ``protocols.xml.parse_xml`` (no
entities, no DTD, no network, byte cap) and dispatches on the envelope's ``version``
attribute. It is a tolerant reader where tolerance cannot change a meaning:

* child order is not checked (1.2 and 2021 order bibliographicItemId differently);
* an element of either version is read in a message of the other (ReShare sends 2021 authorId
  in 1.2 requests); only elements neither schema knows are UnrecognisedDataElement;
* an element is mandatory only when both versions make it so (2021 dropped
  multipleItemRequestId and made the request's supplyingAgencyId optional);
* an empty optional element is absent; an unqualified ``scheme``/``version`` attribute is read
  like the qualified one; a missing or empty version is read as 1.2; 1.0/1.1 are read as 1.2;
* a dateTime may carry more than six fraction digits (crosslink) or a ``+0000`` offset (mod-rs)
  and is read as UTC when it has no offset.

What it refuses, with the errorType it answers with: no XML, entity declarations, no
ISO18626Message envelope, a wrong namespace, missing mandatory parts, repeated single elements
-> BadlyFormedMessage; unknown action -> UnsupportedActionType; unknown reasonForMessage ->
UnsupportedReasonForMessageType; unknown element -> UnrecognisedDataElement; any other value
outside its type or list (status, dates, numbers, empty mandatory text) -> UnrecognisedDataValue.

``encode(message, version)`` is strict: what it writes validates against the XSD of
``version`` (the tests check every message kind), and what the version cannot carry raises
``Iso18626EncodeError`` instead of being dropped.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Any

from lxml import etree

from protocols.errors import XmlError
from protocols.iso18626 import model as m
from protocols.iso18626.codes import (
    NAMESPACE, UNKNOWN_VALUE_ERROR, VERSION_LABELS, Action, CodedValue, MessageKind,
    ReasonForMessage, Version,
)
from protocols.iso18626.errors import (
    ERROR_CLASSES, BadlyFormedMessage, Echo, Iso18626EncodeError, Iso18626Error,
    UnrecognisedDataElement, UnrecognisedDataValue,
)
from protocols.iso18626.layout import (
    BOOLEAN, CODED, CODED_AS_TEXT, DATETIME, DECIMAL, INTEGER, LAYOUTS, OTHER_VERSION, TEXT,
    UINT, El, Layout, Sub,
)
from protocols.xml import parse_xml

__all__ = ["decode", "encode", "parse_datetime", "format_datetime", "MAX_MESSAGE_BYTES"]

MAX_MESSAGE_BYTES = 2 * 2**20   # ISO 18626 messages are a few KB; a cap keeps abuse cheap
ENVELOPE = "ISO18626Message"
_NS = "{" + NAMESPACE + "}"

_DATETIME = re.compile(
    r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(?P<fraction>\.\d+)?(?P<zone>Z|[+-]\d\d:?\d\d)?")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d+")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


# ---- scalar values ----------------------------------------------------------------------

def parse_datetime(text: str) -> datetime:
    """An xs:dateTime as an aware datetime (UTC when it has no offset); ValueError if not one."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an xs:dateTime")
    fraction = match["fraction"] or ""
    normalized = text
    if len(fraction) > 7:   # Python reads at most microseconds; crosslink sends nanoseconds
        normalized = text.replace(fraction, fraction[:7], 1)
    value = datetime.fromisoformat(normalized.replace("Z", "+00:00") if normalized.endswith("Z")
                                   else normalized)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """An xs:dateTime in UTC with a ``Z`` (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _read_scalar(kind: Any, text: str, child: etree._Element, version: Version,
                 path: str) -> Any:
    """``text`` (stripped, non-empty) as a value of ``kind``; raises the matching error."""
    try:
        if kind is TEXT:
            return text
        if kind is CODED:
            scheme = child.get(_NS + "scheme", child.get("scheme")) or None
            return CodedValue(text, scheme)
        if kind is CODED_AS_TEXT:
            return CodedValue(text)
        if kind is DATETIME:
            return parse_datetime(text)
        if kind is DECIMAL:
            if not _DECIMAL.fullmatch(text):
                raise ValueError(f"{text!r} is not an xs:decimal")
            return Decimal(text)
        if kind in (INTEGER, UINT):
            if not _INTEGER.fullmatch(text) or (kind is UINT and int(text) < 0):
                raise ValueError(f"{text!r} is not an xs:{kind}")
            return int(text)
        if kind is BOOLEAN:
            return _BOOLEANS[text]
    except (ValueError, KeyError, InvalidOperation) as err:
        raise UnrecognisedDataValue(f"{path}: {err}") from None
    if isinstance(kind, type) and issubclass(kind, Enum):
        allowed = _allowed_values(kind, version)
        if text in allowed:
            return allowed[text]
        error = UNKNOWN_VALUE_ERROR.get(kind, UnrecognisedDataValue.error_type)
        raise ERROR_CLASSES[error](
            f"invalid {path.rpartition('/')[2]}: {text} (ISO 18626 {version.value} allows "
            f"{', '.join(allowed)})")
    raise AssertionError(f"unknown value kind {kind!r} at {path}")


# ---- decoding ---------------------------------------------------------------------------

def _layout(version: Version, name: str) -> tuple[Version, Layout]:
    layouts = LAYOUTS[version]
    if name in layouts:
        return version, layouts[name]
    other = OTHER_VERSION[version]
    return other, LAYOUTS[other][name]


@cache
def _allowed_values(enum: type[Enum], version: Version) -> dict[str, Enum]:
    return {value: enum(value) for value in enum.values_in(version)}


@cache
def _readable(version: Version, name: str) -> tuple[type, dict[str, El], dict[str, str], bool]:
    """Model class, tag -> El (own version first, then the other), the mandatory fields
    (field -> tag) and whether the class carries the message version."""
    own_version, (cls, own) = _layout(version, name)
    other = LAYOUTS[OTHER_VERSION[own_version]].get(name)
    by_tag = {el.tag: el for el in (other[1] if other else ())}
    by_tag.update({el.tag: el for el in own})
    other_required = {el.tag for el in other[1] if el.required} if other else None
    required = {el.field: el.tag for el in own if el.required and (
        other_required is None or el.tag in other_required)}
    has_version = "version" in {f.name for f in dataclasses.fields(cls)}
    return cls, by_tag, required, has_version


def _local(child: etree._Element, path: str) -> str:
    tag = child.tag
    if not tag.startswith(_NS):
        raise UnrecognisedDataElement(f"{path}/{tag}: not an ISO 18626 element")
    return tag[len(_NS):]


def _no_text(element: etree._Element, path: str) -> None:
    if (element.text or "").strip() or any((child.tail or "").strip() for child in element):
        raise BadlyFormedMessage(f"{path}: text where only elements are allowed")


def _read(element: etree._Element, name: str, version: Version, path: str) -> Any:
    cls, by_tag, required, has_version = _readable(version, name)
    _no_text(element, path)
    kwargs: dict[str, Any] = {}           # field -> value (a list while many are read)
    seen: dict[str, str] = {}             # field -> the tag it was read from
    for child in element:
        if not isinstance(child.tag, str):
            continue   # comments and processing instructions
        local = _local(child, path)
        el = by_tag.get(local)
        if el is None:
            raise UnrecognisedDataElement(f"{path}/{local}")
        child_path = f"{path}/{local}"
        if el.field in seen and not el.many:
            raise BadlyFormedMessage(f"{child_path}: occurs more than once "
                                     f"(with {seen[el.field]})")
        seen[el.field] = local
        value = _read_child(child, el, version, child_path)
        if value is not None:
            if el.many:
                kwargs.setdefault(el.field, []).append(value)
            else:
                kwargs[el.field] = value
    for field, value in kwargs.items():
        if type(value) is list:           # no value read is a list: these are the many
            kwargs[field] = tuple(value)
    for field, tag in required.items():
        if field not in kwargs:
            if field in seen:
                raise UnrecognisedDataValue(f"{path}/{tag}: cannot be empty")
            raise BadlyFormedMessage(f"{path}: mandatory element {tag} is missing")
    if cls is m.Address and len(kwargs) != 1:
        raise BadlyFormedMessage(f"{path}: needs exactly one of electronicAddress, physicalAddress")
    if has_version:
        kwargs["version"] = version
    return cls(**kwargs)


def _read_child(child: etree._Element, el: El, version: Version, path: str) -> Any:
    if isinstance(el.type, Sub):
        return _read(child, el.type.layout, version, path)
    if len(child) == 0:             # the usual case: no element, comment or PI inside
        text = (child.text or "").strip()
    elif any(isinstance(grandchild.tag, str) for grandchild in child):
        raise BadlyFormedMessage(f"{path}: elements inside a simple value")
    else:
        text = "".join(child.itertext()).strip()
    if not text:
        return None
    return _read_scalar(el.type, text, child, version, path)


def _version_of(envelope: etree._Element) -> tuple[Version, str | None]:
    """The layout for the envelope's version attribute, and the unreadable label if any."""
    label = (envelope.get(_NS + "version") or envelope.get("version") or "").strip()
    if not label:
        return Version.V1_2, None
    version = VERSION_LABELS.get(label)
    return (version, None) if version else (Version.V1_2, label)


def _message_child(root: etree._Element) -> etree._Element | None:
    children = [child for child in root if isinstance(child.tag, str)]
    return children[0] if len(children) == 1 else None


def _kind_of(element: etree._Element | None) -> MessageKind | None:
    if element is None or not isinstance(element.tag, str):
        return None
    try:
        return MessageKind(etree.QName(element).localname)
    except ValueError:
        return None


def decode(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> m.Message:
    """Bytes from a peer -> one of the six messages; ``Iso18626Error`` says how to answer."""
    try:
        root = parse_xml(data, max_bytes=max_bytes)
    except XmlError as err:
        raise BadlyFormedMessage(str(err)) from None
    root_name = etree.QName(root).localname if isinstance(root.tag, str) else ""
    if root_name != ENVELOPE:
        kind = _kind_of(root)
        raise BadlyFormedMessage(
            f"root element is {root_name or root.tag!r}, not {ENVELOPE}"
            + (" (a bare message without its envelope)" if kind else ""),
            kind=kind, echo=_salvage(root, kind, Version.V1_2) if kind else None)
    version, unreadable_label = _version_of(root)
    child = _message_child(root)
    kind = _kind_of(child)
    try:
        if root.tag != _NS + ENVELOPE:
            raise BadlyFormedMessage(
                f"{ENVELOPE} is in namespace {etree.QName(root).namespace!r}, "
                f"not {NAMESPACE!r}")
        _no_text(root, ENVELOPE)
        if child is None:
            count = sum(1 for c in root if isinstance(c.tag, str))
            raise BadlyFormedMessage(f"{ENVELOPE} holds {count} messages; it must hold one")
        if kind is None or child.tag != _NS + kind.value:
            raise UnrecognisedDataElement(f"{ENVELOPE}/{child.tag}: not an ISO 18626 message")
        if unreadable_label is not None:
            raise UnrecognisedDataValue(
                f"version: {unreadable_label!r} is not supported; expected one of "
                f"{', '.join(VERSION_LABELS)}")
        return _read(child, kind.value, version, kind.value)
    except Iso18626Error as err:
        err.kind, err.version = kind, version
        err.echo = _salvage(child, kind, version) if kind else Echo()
        raise


def _try(read: Any) -> Any:
    try:
        return read()
    except (Iso18626Error, StopIteration, KeyError):
        return None


def _salvage(message: etree._Element | None, kind: MessageKind | None,
             version: Version) -> Echo:
    """What can still be read of a refused message's header, for the error confirmation."""
    if message is None or kind is None or kind.is_confirmation:
        return Echo()

    def first(*tags: str) -> etree._Element:
        found = message
        for tag in tags:
            found = next(c for c in found if isinstance(c.tag, str)
                         and etree.QName(c).localname == tag)
        return found

    def text(*tags: str) -> str | None:
        return "".join(first(*tags).itertext()).strip() or None

    def agency(tag: str) -> m.AgencyId | None:
        return _read(first("header", tag), "agencyId", version, tag)

    def scalar(kind_: Any, *tags: str) -> Any:
        value = text(*tags)
        return None if value is None else _read_scalar(kind_, value, first(*tags), version,
                                                       "/".join(tags))

    return Echo(
        supplying_agency_id=_try(lambda: agency("supplyingAgencyId")),
        requesting_agency_id=_try(lambda: agency("requestingAgencyId")),
        requesting_agency_request_id=_try(lambda: text("header", "requestingAgencyRequestId")),
        multiple_item_request_id=_try(lambda: text("header", "multipleItemRequestId")),
        timestamp=_try(lambda: scalar(DATETIME, "header", "timestamp")),
        reason_for_message=_try(lambda: scalar(ReasonForMessage, "messageInfo",
                                               "reasonForMessage")),
        action=_try(lambda: scalar(Action, "action")),
    )


# ---- encoding ---------------------------------------------------------------------------

def _write_scalar(parent: etree._Element, tag: str, kind: Any, value: Any, version: Version,
                  path: str) -> None:
    element = etree.SubElement(parent, _NS + tag)
    if kind is TEXT:
        if not isinstance(value, str):
            raise Iso18626EncodeError(f"{path}: expected str, got {value!r}")
        text = value
    elif kind in (CODED, CODED_AS_TEXT):
        if not isinstance(value, CodedValue):
            raise Iso18626EncodeError(f"{path}: expected CodedValue, got {value!r}")
        if value.scheme is not None:
            if kind is CODED_AS_TEXT:
                raise Iso18626EncodeError(
                    f"{path}: ISO 18626 {version.value} has no scheme here ({value.scheme!r})")
            element.set(_NS + "scheme", value.scheme)
        text = value.value
    elif kind is DATETIME:
        text = format_datetime(value)
    elif kind is DECIMAL:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise Iso18626EncodeError(f"{path}: expected a finite Decimal, got {value!r}")
        text = format(value, "f")
    elif kind in (INTEGER, UINT):
        if not isinstance(value, int) or isinstance(value, bool) or (kind is UINT and value < 0):
            raise Iso18626EncodeError(f"{path}: expected an xs:{kind}, got {value!r}")
        text = str(value)
    elif kind is BOOLEAN:
        text = "true" if value else "false"
    elif isinstance(kind, type) and issubclass(kind, Enum):
        if not isinstance(value, kind) or not value.allowed_in(version):
            raise Iso18626EncodeError(
                f"{path}: {value!r} is not a {kind.__name__} of ISO 18626 {version.value}")
        text = value.value
    else:
        raise AssertionError(f"unknown value kind {kind!r} at {path}")
    try:
        element.text = text
    except ValueError as err:   # control characters XML cannot carry
        raise Iso18626EncodeError(f"{path}: {err}") from None


@cache
def _unmapped(name: str, version: Version) -> tuple[str, ...]:
    """The fields of layout ``name``'s class that ``version`` has no element for."""
    cls, elements = LAYOUTS[version][name]
    mapped = {el.field for el in elements}
    return tuple(f.name for f in dataclasses.fields(cls)
                 if f.name not in mapped and f.name != "version")


def _write(parent: etree._Element, tag: str, obj: Any, name: str, version: Version,
           path: str) -> None:
    layout = LAYOUTS[version].get(name)
    if layout is None:
        raise Iso18626EncodeError(f"{path}: ISO 18626 {version.value} has no {name}")
    cls, elements = layout
    if not isinstance(obj, cls):
        raise Iso18626EncodeError(f"{path}: expected {cls.__name__}, got {obj!r}")
    for field in _unmapped(name, version):
        if getattr(obj, field) not in (None, ()):
            raise Iso18626EncodeError(
                f"{path}: {field} has no place in ISO 18626 {version.value}")
    if cls is m.Address and (obj.electronic_address is None) == (obj.physical_address is None):
        raise Iso18626EncodeError(f"{path}: needs exactly one of electronic or physical address")
    element = etree.SubElement(parent, _NS + tag)
    for el in elements:
        value = getattr(obj, el.field)
        if value is None or (el.many and not value):       # most elements are absent
            if not el.required:
                continue
            if el.tag == "multipleItemRequestId":   # mandatory in 1.2, but may be empty
                etree.SubElement(element, _NS + el.tag)
                continue
            raise Iso18626EncodeError(
                f"{path}/{el.tag}: mandatory in ISO 18626 {version.value}")
        items = tuple(value) if el.many else (value,)
        child_path = f"{path}/{el.tag}"
        if el.max_occurs is not None and len(items) > el.max_occurs:
            raise Iso18626EncodeError(
                f"{child_path}: {len(items)} values; ISO 18626 {version.value} allows "
                f"{el.max_occurs}")
        for item in items:
            if isinstance(el.type, Sub):
                _write(element, el.tag, item, el.type.layout, version, child_path)
            else:
                _write_scalar(element, el.tag, el.type, item, version, child_path)


def encode(message: m.Message, version: Version | None = None) -> bytes:
    """The message as UTF-8 XML in ``version`` (default: the message's own)."""
    version = version or message.version
    root = etree.Element(_NS + ENVELOPE, nsmap={None: NAMESPACE, "ill": NAMESPACE})
    root.set(_NS + "version", version.value)
    _write(root, message.kind.value, message, message.kind.value, version, message.kind.value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
