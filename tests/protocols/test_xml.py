"""The hardened XML parser: real documents parse, hostile ones are refused, never expanded."""

from __future__ import annotations

import pytest
from lxml import etree

from protocols.errors import XmlError, XmlTooLarge
from protocols.xml import MARC_NS, OAI_NS, local_name, make_pull_parser, parse_xml
from tests.shared_data import require_shared

# Hostile documents are hand-written: real member data contains none (and must not).
XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>
<foo>&xxe;</foo>"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<foo/>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

HOSTILE = {
    "xxe-file": XXE_FILE,
    "xxe-network": XXE_NETWORK,
    "xxe-parameter-entity": XXE_PARAMETER,
    "billion-laughs": BILLION_LAUGHS,
    "xxe-utf16": XXE_FILE.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"').decode().encode("utf-16"),
}


def test_constants():
    assert MARC_NS == "http://www.loc.gov/MARC21/slim"


def test_parses_real_marcxml_collection():
    path = require_shared("data", "marc", "pymarc", "batch.xml")
    root = parse_xml(path.read_bytes())
    records = root.findall(f".//{{{MARC_NS}}}record")
    assert len(records) == 2
    assert local_name(records[0]) == "record"


def test_parses_real_oai_page():
    folder = require_shared("data", "oai", "folio-spec-examples")
    root = parse_xml((folder / "records.xml").read_bytes())
    assert root.tag == f"{{{OAI_NS}}}OAI-PMH"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_entity_declarations_are_refused(name):
    with pytest.raises(XmlError, match="(?i)entit"):
        parse_xml(HOSTILE[name])


def test_billion_laughs_is_refused_even_with_huge():
    with pytest.raises(XmlError, match="(?i)entit"):
        parse_xml(BILLION_LAUGHS, huge=True)


def test_xxe_content_never_appears():
    try:
        root = parse_xml(XXE_FILE)
    except XmlError:
        return
    pytest.fail(f"XXE document was parsed: {etree.tostring(root)!r}")  # pragma: no cover


def test_doctype_without_entities_is_allowed_and_not_fetched():
    # An external DTD reference is harmless when the DTD is never loaded (no network).
    doc = b'<?xml version="1.0"?>\n<!DOCTYPE foo SYSTEM "http://127.0.0.1:9/foo.dtd">\n<foo a="1">x</foo>'
    root = parse_xml(doc)
    assert root.tag == "foo" and root.text == "x"


def test_size_cap_is_checked_before_parsing():
    junk = b"<" * 2000  # not XML at all: the cap must answer first
    with pytest.raises(XmlTooLarge, match="2000 bytes; the limit is 1000"):
        parse_xml(junk, max_bytes=1000)
    assert XmlTooLarge.status_hint == 413
    assert issubclass(XmlTooLarge, XmlError)


def test_default_cap_is_50_mib():
    assert parse_xml.__kwdefaults__["max_bytes"] == 50 * 2**20


@pytest.mark.parametrize("doc, problem", [
    (b"", "empty"),
    (b"<a><b></a>", "mismatch"),
    (b"<a>&nbsp;</a>", "nbsp"),
    (b"<a/><b/>", "Extra content"),
    (b"<m:a/>", "Namespace prefix m"),
])
def test_malformed_documents_name_the_problem(doc, problem):
    with pytest.raises(XmlError, match=f"(?i){problem}"):
        parse_xml(doc)


def test_deep_documents_need_huge():
    depth = 300
    doc = b"<a>" * depth + b"</a>" * depth
    with pytest.raises(XmlError, match="depth"):
        parse_xml(doc)
    assert local_name(parse_xml(doc, huge=True)) == "a"


def test_blank_text_is_kept():
    root = parse_xml(b"<a> <b/> </a>")
    assert root.text == " " and root[0].tail == " "


def test_only_bytes():
    with pytest.raises(TypeError):
        parse_xml("<a/>")  # type: ignore[arg-type]


def test_pull_parser_in_chunks():
    path = require_shared("data", "marc", "pymarc", "batch.xml")
    data = path.read_bytes()
    parser = make_pull_parser(("end",), tag=f"{{{MARC_NS}}}record")
    seen = 0
    for start in range(0, len(data), 7):
        parser.feed(data[start:start + 7])
        seen += sum(1 for _ in parser.read_events())
    parser.close()
    assert seen == 2


@pytest.mark.parametrize("name", ["xxe-file", "billion-laughs"])
def test_pull_parser_refuses_entities_across_chunk_borders(name):
    data = HOSTILE[name]
    parser = make_pull_parser()
    with pytest.raises(XmlError, match="(?i)entit"):
        for start in range(0, len(data), 3):
            parser.feed(data[start:start + 3])
        parser.close()


def test_pull_parser_cap():
    parser = make_pull_parser(max_bytes=10)
    parser.feed(b"<a>")
    with pytest.raises(XmlTooLarge):
        parser.feed(b"0123456789</a>")
