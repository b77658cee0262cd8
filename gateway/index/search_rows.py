"""The rows of the text index made from a SearchDocument: the FTS5 row (SQLite) and the
tsvector literal (PostgreSQL), as ``search_sql`` writes them one by one and a rebuild's
worker processes make them in bulk (``rebuild_work``).

Plain functions of the document, importing no database library: a worker spawned for a
rebuild starts without SQLAlchemy.
"""

from __future__ import annotations

from protocols.search_query import TEXT_COLUMNS, SearchDocument

PG_WEIGHT_LETTERS = dict(zip(TEXT_COLUMNS, "ABCD"))
MAX_TSVECTOR_POSITION = 16383                            # PostgreSQL's limit
MAX_POSITIONS_PER_WORD = 255

# Between two items of a column (two subjects, title and subtitle) FTS5 gets this token, so a
# phrase never runs from one item into the next, as on PostgreSQL where a position is
# skipped. A private-use character is a token to unicode61 and never a word of a query.
ITEM_GAP = " \ue000 "


def fts_row(doc: SearchDocument) -> dict[str, object]:
    """The FTS5 row of a document: each column its items' words, items ITEM_GAP apart."""
    row: dict[str, object] = {"rowid": doc.cluster_id}
    for column in TEXT_COLUMNS:
        row[column] = ITEM_GAP.join(" ".join(item) for item in doc.text[column])
    return row


def tsvector_literal(doc: SearchDocument) -> str:
    """The document's tsvector in PostgreSQL's input syntax, positions and weights included.

    Built here rather than with to_tsvector() so that PostgreSQL keeps exactly the words
    LibGate folded. A position is skipped between items so a phrase never runs from one
    title or subject into the next.
    """
    positions: dict[str, list[str]] = {}
    position = 0
    for column in TEXT_COLUMNS:
        weight = PG_WEIGHT_LETTERS[column]
        for item in doc.text[column]:
            for word in item:
                position = min(position + 1, MAX_TSVECTOR_POSITION)
                at = positions.setdefault(word, [])
                if len(at) < MAX_POSITIONS_PER_WORD:
                    at.append(f"{position}{weight}")
            position += 1
    return " ".join(f"{lexeme(word)}:{','.join(at)}" for word, at in positions.items())


def lexeme(word: str) -> str:
    """A word as a quoted tsvector / tsquery lexeme."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
