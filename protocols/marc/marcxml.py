"""MARCXML record decoding: ``_decode_marcxml`` parses one ``<record>`` fragment (wrapped with
the namespace declarations and encoding of its ``XmlContext``, declaring missing prefixes if
need be) with the hardened XML parser and builds a pymarc.Record from its leader, controlfield
and datafield children by local name, fitting a bad leader and naming every repair.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pymarc
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
