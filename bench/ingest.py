"""Ingest benchmark: LibGate's ingest vs pymarc's bare read of the same file.

Builds a file of N ISO 2709 records cloned from the real records in ../shared/data/marc (byte
level, so MARC-8 records stay MARC-8; each clone gets a new 001). After the first copy of each
real record, a clone is made a distinct work: a made-up word before its title and none of
the original's identifiers. A member's catalogue is distinct works; since ingest clusters
every batch (issue 4), identical clones are one member re-submitting each record N/2,500
times, which the index must join into clusters that size and re-merge on every batch
(``--identical-clones`` keeps that corpus: 100k records ran at 84 records/s on 2026-12-06).
Batches are converted in ``harvest_workers`` processes, as ``libgate ingest`` runs them.
Measured 2026-12-06, quiet: 100k 2,176 vs 4,013 records/s = 0.54 (190 MB + 92 MB worker),
400k 0.56 (202 + 92 MB); an earlier run 0.49 / 0.54. Before the workers: 0.38 / 0.38.
Session 7 (same day), with one full garbage collection in 100 (gateway.garbage_collection):
100k 2,495 vs 3,914 records/s = 0.64 (191 + 93 MB), 400k 0.66 (204 + 93 MB); the code before,
in the same hour, 0.49 at 100k.
Then in this one script:

  baseline  pymarc.MARCReader over the file, doing nothing else
  libgate   `ingest` into a fresh SQLite store: decode, normalize, upsert, commit

Each run happens in a child process so its peak RSS is its own. Prints records/s, the ratio
(target ≥ 0.50) and peak RSS (target < 300 MB at 100k and 400k records).

    python bench/ingest.py [--sizes 100000,400000] [--identical-clones]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "marc"
sys.path.insert(0, str(ROOT))


def source_records() -> list[bytes]:
    """Every ISO 2709 record under shared/data/marc that pymarc reads strictly."""
    import contextlib
    import io
    import logging
    import warnings

    import pymarc
    logging.getLogger("pymarc").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return _clean_records(pymarc)


def _clean_records(pymarc) -> list[bytes]:
    out = []
    for path in sorted(SHARED.rglob("*")):
        if path.suffix.lower() not in (".mrc", ".dat", ".marc") or not path.is_file():
            continue
        for chunk in path.read_bytes().split(b"\x1d"):
            chunk = chunk.lstrip(b"\r\n ") + b"\x1d"
            if len(chunk) < 30:
                continue
            try:
                if int(chunk[:5]) != len(chunk):
                    continue
                pymarc.Record(chunk)
            except Exception:  # noqa: BLE001 - only clean records make the corpus
                continue
            out.append(chunk)
    return out


# identifier fields a clone made a distinct work drops (LCCN, national bibliography numbers,
# ISBN, other standard ids, system numbers such as OCLC's)
ID_TAGS = (b"010", b"015", b"016", b"020", b"024", b"035")
LETTERS = b"abcdefghijklmnopqrstuvwxyz"


def word(n: int) -> bytes:
    """A made-up word per clone (ASCII: the same bytes in MARC-8 and UTF-8)."""
    letters = []
    n += 26 * 26
    while n:
        n, r = divmod(n, 26)
        letters.append(LETTERS[r:r + 1])
    return b"".join(letters).capitalize()


def clone(raw: bytes, new_id: bytes, distinct: bytes | None = None) -> bytes:
    """Rebuild an ISO 2709 record with 001 = new_id (directory and lengths recomputed).

    ``distinct``: make the clone another work — that word before its title (245 $a), and
    none of the original's identifiers — so the union index sees a catalogue of distinct
    works, not one record re-submitted under new ids (which it must join into one cluster)."""
    base = int(raw[12:17])
    directory = raw[24:base - 1]
    fields = []
    for i in range(0, len(directory), 12):
        entry = directory[i:i + 12]
        tag, length, start = entry[:3], int(entry[3:7]), int(entry[7:12])
        fields.append((tag, raw[base + start: base + start + length]))
    fields = [(t, d) for t, d in fields if t != b"001"]
    if distinct is not None:
        fields = [(t, d.replace(b"\x1fa", b"\x1fa" + distinct + b" ", 1) if t == b"245" else d)
                  for t, d in fields if t not in ID_TAGS]
    fields.insert(0, (b"001", new_id + b"\x1e"))
    entries, data, offset = [], [], 0
    for tag, body in fields:
        entries.append(tag + b"%04d%05d" % (len(body), offset))
        data.append(body)
        offset += len(body)
    dir_bytes = b"".join(entries) + b"\x1e"
    new_base = 24 + len(dir_bytes)
    body = b"".join(data) + b"\x1d"
    total = new_base + len(body)
    leader = b"%05d" % total + raw[5:12] + b"%05d" % new_base + raw[17:24]
    return leader + dir_bytes + body


def build_file(path: Path, count: int, *, identical: bool = False) -> dict:
    """``count`` clones of the real records: the first of each as it is, the later ones
    distinct works (``identical``: every clone the original re-submitted under a new id)."""
    corpus = source_records()
    marc8 = 0
    with path.open("wb") as out:
        for n in range(count):
            raw = corpus[n % len(corpus)]
            marc8 += raw[9:10] == b" "
            distinct = None if identical or n < len(corpus) else word(n)
            out.write(clone(raw, b"bench%09d" % n, distinct))
    return {"corpus": len(corpus), "marc8_share": round(marc8 / count, 3)}


def child_baseline(path: Path) -> dict:
    import pymarc
    started = time.perf_counter()
    n = 0
    with path.open("rb") as fh:
        for record in pymarc.MARCReader(fh, to_unicode=True):
            if record is not None:
                n += 1
    return {"records": n, "seconds": time.perf_counter() - started}


def child_libgate(path: Path, db: Path) -> dict:
    from config.settings import load_settings
    from gateway.ingest import ingest
    from gateway.registry import add_member
    from gateway.store import open_store
    # as `libgate ingest` runs it: the batch size and conversion workers of the settings
    settings = load_settings(None, {}, environ={})

    async def run() -> dict:
        store = await open_store(f"sqlite:///{db}")
        await add_member(store, "US-BENCH", "Benchmark library")
        started = time.perf_counter()
        report = await ingest(store, "US-BENCH", str(path),
                              batch_size=settings.ingest_batch_size,
                              workers=settings.harvest_workers)
        seconds = time.perf_counter() - started
        await store.close()
        return {"records": report.added, "quarantined": report.quarantined, "seconds": seconds}
    return asyncio.run(run())


def run_child(kind: str, path: Path, db: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path), str(db)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--identical-clones", action="store_true",
                        help="every clone is its original under a new 001 (one member "
                             "re-submitting each record, joined into clusters that size)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FILE", "DB"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, db = args.child
        result = (child_baseline(Path(path)) if kind == "baseline"
                  else child_libgate(Path(path), Path(db)))
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # the conversion worker (joined when the ingest ends): the largest child's peak
        result["worker_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps(result))
        return
    if not SHARED.is_dir():
        sys.exit(f"needs ../shared/data/marc beside the repository ({SHARED} not found)")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.mrc"
            info = build_file(path, size, identical=args.identical_clones)
            base = run_child("baseline", path, Path(tmp) / "unused.db")
            ours = run_child("libgate", path, Path(tmp) / "bench.db")
            base_rate = base["records"] / base["seconds"]
            our_rate = ours["records"] / ours["seconds"]
            kind = ("identical clones" if args.identical_clones
                    else "clones made distinct works")
            print(f"ingest benchmark: {size} records ({info['corpus']} distinct real records, "
                  f"then {kind}; {info['marc8_share']:.0%} MARC-8), "
                  f"{path.stat().st_size / 2**20:.0f} MB", flush=True)
            print(f"  pymarc MARCReader, read only : {base_rate:9.0f} records/s "
                  f"(peak RSS {base['peak_rss_mb']:.0f} MB)")
            print(f"  libgate ingest into SQLite   : {our_rate:9.0f} records/s "
                  f"(peak RSS {ours['peak_rss_mb']:.0f} MB + {ours['worker_rss_mb']:.0f} MB worker, "
                  f"{ours['quarantined']} quarantined)")
            print(f"  ratio libgate / pymarc       : {our_rate / base_rate:9.2f}  (target ≥ 0.50; "
                  f"RSS target < 300 MB)", flush=True)


if __name__ == "__main__":
    main()
