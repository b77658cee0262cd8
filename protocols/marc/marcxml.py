"""MARCXML record decoding: ``_decode_marcxml`` parses one ``<record>`` fragment (wrapped with
the namespace declarations and encoding of its ``XmlContext``, declaring missing prefixes if
need be) with the hardened XML parser and builds a pymarc.Record from its leader, controlfield
and datafield children by local name, fitting a bad leader and naming every repair.
``decode_marcxml_element`` does the same for a ``<record>`` element already parsed (an
OAI-PMH payload still in its page's tree), so a harvested record is parsed once, not three
times.

Building the record has two paths. ``_record_fast`` takes the common well-formed record
(MARC21 slim or un-namespaced children, one 24-character ASCII leader, 3-character tags, one
character per indicator, a code on every subfield): it compares Clark names instead of
computing local names and builds pymarc objects without their constructors' checks. The
first thing it does not expect makes it give up, and ``_record_careful`` builds the record
again from the start, naming every repair. Both give the same record for what the fast path
accepts.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pymarc
from lxml import etree
from pymarc import Field, Indicators, Leader, Subfield

from protocols.errors import MarcError, XmlError, XmlTooLarge
from protocols.marc.types import (
    _FFFD_UPSTREAM,
    _U_FFFD,
    LEADER_LEN,
    DecodedRecord,
    RawRecord,
    XmlContext,
)
from protocols.xml import MARC_NS, local_name, parse_xml

_MARC_PREFIXES = ("marc", "marcxml", "slim", "mx", "ns0")
_PREFIX_USE = re.compile(rb"</?([A-Za-z_][\w.\-]*):|\s([A-Za-z_][\w.\-]*):[A-Za-z_][\w.\-]*\s*=")


@lru_cache(maxsize=32)
def _wrapper(context: XmlContext | None) -> tuple[bytes, bytes]:
    declaration = b""
    attrs = []
    if context is not None:
        if context.encoding and context.encoding.replace("_", "-") not in ("utf-8", "utf8"):
            declaration = f'<?xml version="1.0" encoding="{context.encoding}"?>'.encode("ascii")
        for prefix, uri in context.namespaces:
            name = f"xmlns:{prefix}" if prefix else "xmlns"
            attrs.append(f' {name}="{_xml_attr(uri)}"')
    head = declaration + f"<libgate-fragment{''.join(attrs)}>".encode("ascii", "xmlcharrefreplace")
    return head, b"</libgate-fragment>"


def _xml_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _decode_marcxml(raw: RawRecord) -> DecodedRecord:
    repairs: list[str] = []
    head, tail = _wrapper(raw.xml_context)
    try:
        root = parse_xml(head + raw.data + tail)
    except XmlTooLarge as err:
        raise MarcError("oversize", str(err)) from err
    except XmlError as err:
        if "Namespace prefix" not in str(err):
            raise MarcError("xml", f"record at offset {raw.offset}: {err}") from err
        # A fragment cut from a document whose declarations we did not see (e.g. re-decoded
        # from quarantine without its context): declare the prefixes it uses. Decoding goes by
        # local names, so the URIs do not matter.
        prefixes = sorted({(a or b).decode("ascii") for a, b in _PREFIX_USE.findall(raw.data)}
                          - {"xml", "xmlns"})
        declared = dict(raw.xml_context.namespaces) if raw.xml_context else {}
        missing = [p for p in prefixes if p not in declared]
        extra = "".join(
            f' xmlns:{p}="{MARC_NS if p in _MARC_PREFIXES else "urn:libgate:undeclared:" + p}"'
            for p in missing
        ).encode("ascii")
        try:
            root = parse_xml(head[:-1] + extra + b">" + raw.data + tail)
        except XmlError as err2:
            raise MarcError("xml", f"record at offset {raw.offset}: {err2}") from err2
        repairs.append(f"undeclared namespace prefix(es) {', '.join(missing)} declared")
    element = next((child for child in root if isinstance(child.tag, str)), None)
    if element is None:
        raise MarcError(
            "xml", f"record at offset {raw.offset}: no record element in {raw.data[:60]!r}"
        )
    return _decode_element(element, raw, repairs)


def decode_marcxml_element(element: etree._Element, raw: bytes, *,
                           position: int = 0) -> DecodedRecord:
    """Decode a MARCXML ``<record>`` element that is already parsed, e.g. an OAI-PMH payload.

    ``raw`` is the element serialized on its own (``OaiRecord.metadata``); it becomes
    ``DecodedRecord.raw`` and is checked for U+FFFD exactly as ``decode_record`` checks the
    bytes it parses. For such a pair the result is the one ``decode_record(RawRecord(position,
    0, raw, "marcxml"))`` gives, without parsing ``raw`` again. Raises ``MarcError`` ("xml")
    for an element that is not a MARC record.
    """
    return _decode_element(element, RawRecord(position, 0, raw, "marcxml"), [])


def _decode_element(element: etree._Element, raw: RawRecord, repairs: list[str]) -> DecodedRecord:
    namespace = element.tag.partition("}")[0][1:] if element.tag.startswith("{") else ""
    if namespace not in ("", MARC_NS):
        repairs.append(
            f"record element is in namespace {namespace!r}, not MARC21 slim; read by local names"
        )
    record = _record_from_element(element, repairs)
    if _U_FFFD in raw.data:
        repairs.append(_FFFD_UPSTREAM)
    encoding = raw.xml_context.encoding if raw.xml_context and raw.xml_context.encoding else "utf-8"
    return DecodedRecord(raw, record, encoding, repairs)


def _text(element) -> str:
    return "".join(element.itertext())


def _fit_leader(text: str, repairs: list[str]) -> str:
    leader = text
    if not leader.isascii() or not leader.isprintable():
        leader = "".join(c if c.isascii() and c.isprintable() else " " for c in leader)
        repairs.append(f"leader {text!r}: non-ASCII or control characters replaced by blanks")
    if len(leader) != LEADER_LEN:
        if len(leader) < LEADER_LEN and leader.endswith("4500"):
            # Squeezed runs of blanks (RecordManager2 MZK01-001101044): the entry map
            # "4500" belongs at 20-23, so the missing blanks go before it.
            fixed = leader[:-4].ljust(LEADER_LEN - 4) + leader[-4:]
        else:
            fixed = leader[:LEADER_LEN].ljust(LEADER_LEN)
        repairs.append(f"leader {text!r} is {len(text)} characters, not 24; fitted to {fixed!r}")
        leader = fixed
    return leader


def _record_from_element(element, repairs: list[str]) -> pymarc.Record:
    """A pymarc.Record from a MARCXML <record> element (any namespace, local names)."""
    record = _record_fast(element)
    if record is None:
        record = _record_careful(element, repairs)
    return record


# Clark names of the children the fast path knows; kind 0 leader, 1 controlfield, 2 datafield.
# Children in no namespace count too: the careful path reads by local name and notes nothing
# about a child's namespace (only the record element's).
_SLIM = f"{{{MARC_NS}}}"
_CHILD_KIND = {f"{ns}{name}": kind for ns in (_SLIM, "")
               for kind, name in enumerate(("leader", "controlfield", "datafield"))}
_SUBFIELD = _SLIM + "subfield"

# Field(...) re-checks the tag, the indicators and the subfields on every call, about half the
# cost of building a record. The fast path checks those itself and fills the slots directly,
# as Field.__init__ would; if a pymarc release changes the slots, Field(...) is used again.
_FIELD_SLOTS = ("tag", "data", "_indicators", "subfields", "__pos", "control_field")
_DIRECT_FIELDS = getattr(Field, "__slots__", None) == _FIELD_SLOTS
_new_field = Field.__new__
_new_tuple = tuple.__new__   # what NamedTuple.__new__ calls, minus a Python-level frame


def _record_fast(element) -> pymarc.Record | None:
    """The record, if it needs no repair at all; None sends it to ``_record_careful``."""
    leader: str | None = None
    fields: list[Field] = []
    append = fields.append
    kind_of = _CHILD_KIND.get
    direct = _DIRECT_FIELDS
    for child in element[:]:     # a list built in C: cheaper than the child iterator
        tag = child.tag
        kind = kind_of(tag)
        if kind == 2:
            field_tag = child.get("tag")
            ind1 = child.get("ind1")
            ind2 = child.get("ind2")
            if (not field_tag or len(field_tag) != 3 or ind1 is None or len(ind1) != 1
                    or ind2 is None or len(ind2) != 1):
                return None
            subfields = []
            for sub in child[:]:
                sub_tag = sub.tag
                if sub_tag != _SUBFIELD and sub_tag != "subfield":
                    return None       # unknown element, comment or PI: the careful path says
                code = sub.get("code")
                if not code:
                    return None
                # markup inside a subfield (<b>, a comment) splits its text: join it all
                value = (sub.text or "") if not len(sub) else _text(sub)
                subfields.append(_new_tuple(Subfield, (code, value)))
            if not direct or (field_tag < "010" and field_tag.isdigit()):
                # a datafield tagged like a control field: pymarc makes it one, data None
                append(Field(tag=field_tag, indicators=Indicators(ind1, ind2),
                             subfields=subfields))
                continue
            field = _new_field(Field)
            field.tag = field_tag
            field.data = None
            field._indicators = _new_tuple(Indicators, (ind1, ind2))
            field.subfields = subfields
            field.control_field = False
            append(field)
        elif kind == 1:
            field_tag = child.get("tag")
            if not field_tag or len(field_tag) != 3:
                return None
            value = (child.text or "") if not len(child) else _text(child)
            if not direct or not (field_tag < "010" and field_tag.isdigit()):
                append(Field(tag=field_tag, data=value))    # pymarc drops data of e.g. "FMT"
                continue
            field = _new_field(Field)
            field.tag = field_tag
            field.data = value
            field._indicators = None
            field.subfields = []
            field.control_field = True
            append(field)
        elif kind == 0:
            if leader is not None:
                return None
            leader = (child.text or "") if not len(child) else _text(child)
        elif isinstance(tag, str):
            return None               # an element the careful path names in a repair
        # else a comment or processing instruction between fields: skipped by both paths
    if (leader is None or len(leader) != LEADER_LEN or not leader.isascii()
            or not leader.isprintable()):
        return None
    record = pymarc.Record(to_unicode=True, force_utf8=True, fields=fields)
    record.leader = Leader(leader)
    return record


def _record_careful(element, repairs: list[str]) -> pymarc.Record:
    """Any <record> element: read by local names, every repair named in ``repairs``."""
    leader_text: str | None = None
    fields: list[Field] = []
    marc_children = 0
    for index, child in enumerate(element, start=1):
        name = local_name(child)
        if not name:
            continue  # comment or processing instruction
        if name == "leader":
            marc_children += 1
            if leader_text is not None:
                repairs.append("second <leader> ignored")
                continue
            leader_text = _text(child)
        elif name == "controlfield":
            marc_children += 1
            tag = child.get("tag")
            value = _text(child)
            if not tag:
                repairs.append(
                    f"controlfield #{index} without a tag dropped (content {value[:40]!r})"
                )
                continue
            if len(tag) != 3:
                repairs.append(f"controlfield tag {tag!r} is not 3 characters")
            fields.append(Field(tag=tag, data=value))
        elif name == "datafield":
            marc_children += 1
            tag = child.get("tag")
            if not tag:
                content = _text(child).strip()[:40]
                repairs.append(f"datafield #{index} without a tag dropped (content {content!r})")
                continue
            if len(tag) != 3:
                repairs.append(f"datafield tag {tag!r} is not 3 characters")
            indicators = []
            for attr in ("ind1", "ind2"):
                value = child.get(attr)
                if value is None or len(value) != 1:
                    repairs.append(f"datafield {tag}: {attr} {value!r} read as ' '")
                    value = " "
                indicators.append(value)
            subfields = []
            for sub in child:
                sub_name = local_name(sub)
                if not sub_name:
                    continue
                if sub_name != "subfield":
                    repairs.append(
                        f"datafield {tag}: unknown element <{sub_name}> ignored ({_text(sub)[:40]!r})"
                    )
                    continue
                code = sub.get("code")
                if not code:
                    repairs.append(
                        f"datafield {tag}: subfield without a code dropped ({_text(sub)[:40]!r})"
                    )
                    continue
                subfields.append(Subfield(code=code, value=_text(sub)))
            fields.append(Field(tag=tag, indicators=Indicators(*indicators), subfields=subfields))
        else:
            repairs.append(f"unknown element <{name}> in record ignored")
    if not marc_children:
        raise MarcError(
            "xml", f"<{local_name(element)}> has no leader, controlfield or datafield children"
        )
    if leader_text is None:
        repairs.append("record has no <leader>; a blank one was used")
        leader = " " * 10 + "22" + " " * 8 + "4500"
    else:
        leader = _fit_leader(leader_text, repairs)
    record = pymarc.Record(to_unicode=True, force_utf8=True)
    record.leader = Leader(leader)
    for built in fields:
        record.add_field(built)
    return record
