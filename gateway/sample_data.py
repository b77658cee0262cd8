"""A generated sample consortium for `libgate demo` and tests: no real member data involved.

Three fictional member libraries catalogue overlapping subsets of a list of public-domain
works, each in its own house style (ISBN-13 vs ISBN-10, ALL-CAPS titles, Koha 952 items vs
852 holdings, reference copies that do not lend). A seeded generator makes the files the same
on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pymarc
from pymarc import Field, Indicators, Subfield

from gateway import registry
from gateway.ingest import ingest
from gateway.registry import DuplicateMember, EndpointSpec
from gateway.store import Store

# (title, subtitle, author, dates, year, publisher, place, pages, subjects)
WORKS: tuple[tuple[str, str | None, str, str, int, str, str, int, tuple[str, ...]], ...] = (
    ("Pride and prejudice", None, "Austen, Jane", "1775-1817", 1813, "T. Egerton", "London", 432, ("Courtship -- Fiction", "England -- Fiction")),
    ("Emma", None, "Austen, Jane", "1775-1817", 1815, "John Murray", "London", 474, ("Young women -- Fiction",)),
    ("Moby-Dick", "or, The whale", "Melville, Herman", "1819-1891", 1851, "Harper & Brothers", "New York", 635, ("Whaling -- Fiction", "Sea stories")),
    ("Middlemarch", "a study of provincial life", "Eliot, George", "1819-1880", 1872, "W. Blackwood", "Edinburgh", 880, ("City and town life -- Fiction",)),
    ("Great expectations", None, "Dickens, Charles", "1812-1870", 1861, "Chapman and Hall", "London", 544, ("Orphans -- Fiction",)),
    ("Bleak house", None, "Dickens, Charles", "1812-1870", 1853, "Bradbury and Evans", "London", 624, ("Inheritance and succession -- Fiction",)),
    ("Jane Eyre", "an autobiography", "Brontë, Charlotte", "1816-1855", 1847, "Smith, Elder", "London", 507, ("Governesses -- Fiction",)),
    ("Wuthering Heights", None, "Brontë, Emily", "1818-1848", 1847, "Thomas Cautley Newby", "London", 416, ("Yorkshire (England) -- Fiction",)),
    ("Frankenstein", "or, The modern Prometheus", "Shelley, Mary Wollstonecraft", "1797-1851", 1818, "Lackington", "London", 280, ("Monsters -- Fiction", "Science fiction")),
    ("Dracula", None, "Stoker, Bram", "1847-1912", 1897, "Archibald Constable", "Westminster", 390, ("Vampires -- Fiction",)),
    ("The adventures of Tom Sawyer", None, "Twain, Mark", "1835-1910", 1876, "American Publishing Company", "Hartford", 274, ("Mississippi River -- Fiction",)),
    ("Adventures of Huckleberry Finn", None, "Twain, Mark", "1835-1910", 1884, "Chatto & Windus", "London", 366, ("Runaway children -- Fiction",)),
    ("Little women", None, "Alcott, Louisa May", "1832-1888", 1868, "Roberts Brothers", "Boston", 759, ("Sisters -- Fiction",)),
    ("The scarlet letter", "a romance", "Hawthorne, Nathaniel", "1804-1864", 1850, "Ticknor, Reed & Fields", "Boston", 322, ("Puritans -- Fiction",)),
    ("Walden", "or, Life in the woods", "Thoreau, Henry David", "1817-1862", 1854, "Ticknor and Fields", "Boston", 357, ("Nature", "Solitude")),
    ("Leaves of grass", None, "Whitman, Walt", "1819-1892", 1855, "Fowler & Wells", "Brooklyn", 95, ("American poetry",)),
    ("Crime and punishment", None, "Dostoyevsky, Fyodor", "1821-1881", 1866, "The Russian Messenger", "Moscow", 551, ("Murder -- Fiction",)),
    ("War and peace", None, "Tolstoy, Leo", "1828-1910", 1869, "The Russian Messenger", "Moscow", 1225, ("Napoleonic Wars, 1800-1815 -- Fiction",)),
    ("Anna Karenina", None, "Tolstoy, Leo", "1828-1910", 1878, "The Russian Messenger", "Moscow", 864, ("Adultery -- Fiction",)),
    ("Madame Bovary", None, "Flaubert, Gustave", "1821-1880", 1857, "Michel Lévy Frères", "Paris", 490, ("Adultery -- Fiction", "France -- Fiction")),
    ("Les misérables", None, "Hugo, Victor", "1802-1885", 1862, "A. Lacroix, Verboeckhoven", "Brussels", 1463, ("France -- History -- 1815-1848 -- Fiction",)),
    ("Le comte de Monte-Cristo", None, "Dumas, Alexandre", "1802-1870", 1844, "Pétion", "Paris", 1276, ("Revenge -- Fiction",)),
    ("Faust", "eine Tragödie", "Goethe, Johann Wolfgang von", "1749-1832", 1808, "Cotta", "Tübingen", 309, ("German drama",)),
    ("Don Quixote", None, "Cervantes Saavedra, Miguel de", "1547-1616", 1605, "Juan de la Cuesta", "Madrid", 1072, ("Knights and knighthood -- Fiction",)),
    ("The origin of species", "by means of natural selection", "Darwin, Charles", "1809-1882", 1859, "John Murray", "London", 502, ("Evolution (Biology)", "Natural selection")),
    ("The wealth of nations", None, "Smith, Adam", "1723-1790", 1776, "W. Strahan and T. Cadell", "London", 1097, ("Economics",)),
    ("Leviathan", None, "Hobbes, Thomas", "1588-1679", 1651, "Andrew Crooke", "London", 396, ("Political science", "State, The")),
    ("A vindication of the rights of woman", None, "Wollstonecraft, Mary", "1759-1797", 1792, "J. Johnson", "London", 452, ("Women's rights",)),
    ("The time machine", None, "Wells, H. G.", "1866-1946", 1895, "William Heinemann", "London", 152, ("Time travel -- Fiction", "Science fiction")),
    ("The picture of Dorian Gray", None, "Wilde, Oscar", "1854-1900", 1891, "Ward, Lock", "London", 334, ("Portraits -- Fiction",)),
    ("Heart of darkness", None, "Conrad, Joseph", "1857-1924", 1899, "Blackwood", "Edinburgh", 188, ("Congo River -- Fiction",)),
    ("Treasure Island", None, "Stevenson, Robert Louis", "1850-1894", 1883, "Cassell", "London", 292, ("Pirates -- Fiction", "Buried treasure -- Fiction")),
    ("The count of Monte Cristo", None, "Dumas, Alexandre", "1802-1870", 1846, "Chapman and Hall", "London", 1462, ("Revenge -- Fiction",)),
    ("Alice's adventures in Wonderland", None, "Carroll, Lewis", "1832-1898", 1865, "Macmillan", "London", 192, ("Fantasy fiction",)),
    ("The jungle book", None, "Kipling, Rudyard", "1865-1936", 1894, "Macmillan", "London", 212, ("Jungles -- Fiction",)),
    ("Uncle Tom's cabin", "or, Life among the lowly", "Stowe, Harriet Beecher", "1811-1896", 1852, "John P. Jewett", "Boston", 635, ("Slavery -- Fiction",)),
)


@dataclass(frozen=True, slots=True)
class SampleMember:
    code: str
    name: str
    contact: str
    style: str               # "852" holdings or Koha-style "952" items
    share: float             # fraction of the works it holds
    all_caps: bool = False
    isbn10: bool = False


SAMPLE_MEMBERS = (
    SampleMember("US-NFU", "Northfield University Library (demo)", "ill@northfield.example",
                 "852", 0.75),
    SampleMember("GB-UkDem", "Dale County Public Libraries (demo)", "loans@dalecounty.example",
                 "952", 0.6, all_caps=True, isbn10=True),
    SampleMember("DE-Dm1", "Demo-Stadtbibliothek (demo)", "fernleihe@demo-stadt.example",
                 "852", 0.5),
)


def isbn13_for(n: int) -> str:
    """A valid (check digit) ISBN-13 in a range no real publisher uses for these works."""
    body = f"97809{n:07d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def isbn10_of(isbn13: str) -> str:
    body = isbn13[3:12]
    total = sum(int(d) * (10 - i) for i, d in enumerate(body))
    check = (11 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


def make_record(member: SampleMember, index: int, work: tuple, rng: random.Random) -> pymarc.Record:
    title, subtitle, author, dates, year, publisher, place, pages, subjects = work
    isbn = isbn13_for(1000 + index)
    record = pymarc.Record(force_utf8=True)
    record.leader = pymarc.Leader("00000nam a2200000 a 4500")
    record.add_field(Field(tag="001", data=f"{member.code.split('-')[1].lower()}{index:05d}"))
    record.add_field(Field(tag="003", data=member.code))
    record.add_field(Field(tag="008", data=f"200101s{year}    xx            000 1 eng d"))
    record.add_field(Field(tag="020", indicators=Indicators(" ", " "), subfields=[
        Subfield("a", isbn10_of(isbn) if member.isbn10 else isbn)]))
    record.add_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[
        Subfield("a", author + ","), Subfield("d", dates + ".")]))
    shown = title.upper() if member.all_caps else title
    title_subfields = [Subfield("a", shown + (" :" if subtitle else " /"))]
    if subtitle:
        title_subfields.append(Subfield("b", subtitle + " /"))
    title_subfields.append(Subfield("c", " ".join(reversed(author.split(", "))) + "."))
    record.add_field(Field(tag="245", indicators=Indicators("1", "0"), subfields=title_subfields))
    record.add_field(Field(tag="264", indicators=Indicators(" ", "1"), subfields=[
        Subfield("a", place + " :"), Subfield("b", publisher + ","), Subfield("c", f"{year}.")]))
    record.add_field(Field(tag="300", indicators=Indicators(" ", " "), subfields=[
        Subfield("a", f"{pages} p. ;"), Subfield("c", "22 cm")]))
    for subject in subjects:
        parts = subject.split(" -- ")
        subs = [Subfield("a", parts[0])] + [Subfield("x", p) for p in parts[1:]]
        record.add_field(Field(tag="650", indicators=Indicators(" ", "0"), subfields=subs))
    copies = 1 + rng.randrange(2)
    for copy in range(copies):
        reference = rng.random() < 0.2
        call_number = f"{author[:3].upper()} {year}"
        barcode = f"{member.code[-3:].upper()}{index:05d}{copy}"
        if member.style == "952":
            record.add_field(Field(tag="952", indicators=Indicators(" ", " "), subfields=[
                Subfield("a", "CENTRAL"), Subfield("b", "CENTRAL"),
                Subfield("c", "REF" if reference else "STACKS"), Subfield("o", call_number),
                Subfield("p", barcode), Subfield("7", "1" if reference else "0")]))
        else:
            subs = [Subfield("a", member.code), Subfield("b", "Reference" if reference
                                                          else "Main Library"),
                    Subfield("h", call_number), Subfield("p", barcode)]
            if reference:
                subs.append(Subfield("z", "Not for loan"))
            record.add_field(Field(tag="852", indicators=Indicators("0", " "), subfields=subs))
    return record


def write_member_file(member: SampleMember, directory: Path, seed: int = 1) -> Path:
    rng = random.Random(f"{seed}:{member.code}")
    path = directory / f"{member.code}.mrc"
    with path.open("wb") as out:
        for index, work in enumerate(WORKS):
            if rng.random() < member.share:
                out.write(make_record(member, index, work, rng).as_marc())
    return path


async def load_sample_consortium(store: Store, directory: Path) -> list[str]:
    """Generate the files, register the members, ingest; returns lines for the user."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for member in SAMPLE_MEMBERS:
        path = write_member_file(member, directory)
        try:
            await registry.add_member(store, member.code, member.name, contact=member.contact,
                                      endpoint_specs=[EndpointSpec("marc-file",
                                                                   path=str(path))])
        except DuplicateMember:
            pass
        report = await ingest(store, member.code, str(path))
        lines.append(f"{member.code:10} {member.name}: {report.records_read} records "
                     f"({report.added} added, {report.unchanged} unchanged) from {path}")
    return lines
