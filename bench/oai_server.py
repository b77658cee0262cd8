"""A fast local OAI-PMH endpoint for the harvest benchmark (run as its own process).

Serves N MARCXML records derived from the real records in ../shared/data, 100 per page, from
pages built before the first request. The first ~2,500 are the real records; every later one
is a clone made a distinct work (a generated word before its title, an ISBN of its own), and
about one record in seven re-submits the one before under a new id — a member catalogue has
few exact duplicates, so the union index sees what a real harvest gives it.
``--identical-clones`` serves the old stress corpus instead: every clone keeps its original's
content, so each real record comes back N/2,500 times and clusters grow to that size. With
``--members K`` it listens on K ports, one "member" each, neighbours sharing ``--overlap`` of
their works; ``--latency`` adds a delay to every answer. Prints one line "ready PORT [PORT…]"
when listening.

    python bench/oai_server.py --records 50000 [--members 1] [--latency 0.0]
                               [--overlap 0.33] [--identical-clones]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import re
import sys
import warnings
from pathlib import Path

from aiohttp import web
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from cluster import isbn13, word  # noqa: E402  (the cluster benchmark's words and ISBNs)

OAI = "http://www.openarchives.org/OAI/2.0/"
CONTROL_001 = re.compile(r'<(?:marc:)?controlfield tag="001">[^<]*</(?:marc:)?controlfield>')


def distinct_marcxml() -> list[str]:
    """The real records (ISO 2709 under shared/data) as namespaced MARCXML text."""
    import pymarc

    from ingest import source_records
    out = []
    warnings.simplefilter("ignore")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for raw in source_records():
            record = pymarc.Record(raw)
            xml = pymarc.record_to_xml(record, namespace=True)
            try:
                out.append(etree.tostring(etree.fromstring(xml), encoding="unicode"))
            except etree.XMLSyntaxError:
                continue       # control characters no XML can carry: not a fair sample
    return out


ID_FIELDS = re.compile(r'<datafield ind1="." ind2="." tag="0(?:10|15|16|20|22|24|35)">.*?</datafield>')
TITLE_A = re.compile(r'(<datafield ind1="." ind2="." tag="245"><subfield code="a">)')
RESUBMIT_EVERY = 7        # every 7th clone re-submits the previous one under a new id


def work_xml(corpus: list[str], work: int, identical: bool) -> str:
    """The MARCXML of ``work``: the real records themselves for the first len(corpus) works;
    after that a clone made a different work — a generated word before its title and one
    ISBN of its own instead of its identifiers — as a catalogue of distinct books has them.
    ``identical``: every clone keeps its original's content (each real record re-submitted
    many times: a stress test for the clustering of large same-member groups)."""
    xml = corpus[work % len(corpus)]
    generation = work // len(corpus)
    if identical or generation == 0:
        return xml
    xml = ID_FIELDS.sub("", xml)
    xml = TITLE_A.sub(lambda m: m.group(1) + word(work).capitalize() + " ", xml, count=1)
    isbn = (f'<datafield ind1=" " ind2=" " tag="020"><subfield code="a">{isbn13(work)}'
            "</subfield></datafield>")
    at = xml.index("<datafield") if "<datafield" in xml else xml.index("</record>")
    return xml[:at] + isbn + xml[at:]


def build_pages(corpus: list[str], count: int, page_size: int, member: int = 0, *,
                first_work: int = 0, identical: bool = False) -> list[bytes]:
    """``count`` records of works ``first_work``…; about one in RESUBMIT_EVERY is the previous
    record again under a new id (an exact re-submission: it clusters with it)."""
    pages = []
    for start in range(0, count, page_size):
        body = []
        for n in range(start, min(start + page_size, count)):
            local = f"m{member}b{n:09d}"
            work = first_work + n - (1 if n % RESUBMIT_EVERY == RESUBMIT_EVERY - 1 else 0)
            # the records carry the MARC namespace as default namespace (no prefix)
            xml = CONTROL_001.sub(f'<controlfield tag="001">{local}</controlfield>',
                                  work_xml(corpus, work, identical), count=1)
            if 'tag="001"' not in xml:
                xml = xml.replace("</leader>", "</leader><controlfield "
                                  f'tag="001">{local}</controlfield>', 1)
            body.append(f"<record><header><identifier>oai:bench:{local}</identifier>"
                        f"<datestamp>2026-01-01T00:00:00Z</datestamp></header>"
                        f"<metadata>{xml}</metadata></record>")
        following = start + page_size
        token = (f'<resumptionToken completeListSize="{count}">p{following}</resumptionToken>'
                 if following < count else f'<resumptionToken completeListSize="{count}"/>')
        pages.append((f'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="{OAI}">'
                      "<responseDate>2026-11-27T00:00:00Z</responseDate>"
                      '<request verb="ListRecords">http://127.0.0.1/oai</request>'
                      f"<ListRecords>{''.join(body)}{token}</ListRecords></OAI-PMH>")
                     .encode("utf-8"))
    return pages


IDENTIFY = (f'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="{OAI}">'
            "<responseDate>2026-11-27T00:00:00Z</responseDate>"
            '<request verb="Identify">http://127.0.0.1/oai</request><Identify>'
            "<repositoryName>bench</repositoryName><baseURL>http://127.0.0.1/oai</baseURL>"
            "<protocolVersion>2.0</protocolVersion><adminEmail>a@b.example</adminEmail>"
            "<earliestDatestamp>2026-01-01T00:00:00Z</earliestDatestamp>"
            "<deletedRecord>persistent</deletedRecord>"
            "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify></OAI-PMH>").encode()


def make_app(pages: list[bytes], page_size: int, latency: float) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        if latency:
            await asyncio.sleep(latency)
        if request.query.get("verb") == "Identify":
            return web.Response(body=IDENTIFY, content_type="text/xml")
        token = request.query.get("resumptionToken")
        index = int(token[1:]) // page_size if token else 0
        return web.Response(body=pages[index], content_type="text/xml")
    app = web.Application()
    app.router.add_get("/oai", handle)
    return app


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--overlap", type=float, default=1 / 3,
                        help="share of a member's works the next member holds too")
    parser.add_argument("--identical-clones", action="store_true",
                        help="clones keep their original's content (clustering stress test)")
    args = parser.parse_args()
    ports = []
    corpus = distinct_marcxml()
    for member in range(args.members):
        # member m holds works [m·shift, m·shift + records): neighbours share `overlap` of them
        shift = round(args.records * (1 - args.overlap))
        pages = build_pages(corpus, args.records, args.page_size, member,
                            first_work=member * shift, identical=args.identical_clones)
        runner = web.AppRunner(make_app(pages, args.page_size, args.latency), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.append(site._server.sockets[0].getsockname()[1])
    print("ready", *ports, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
