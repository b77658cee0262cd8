"""The store's tables (SQLAlchemy Core). Alembic migrations in gateway/migrations create them.

One schema for SQLite (embedded default) and PostgreSQL (scale-out); dialect differences stay
behind the types chosen here.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
})

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)

MEMBER_STATUSES = ("open", "limited", "closed", "digital-only")
ENDPOINT_TYPES = ("oai-pmh", "marc-file", "sru", "iso18626")

members = sa.Table(
    "members", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("contact", sa.Text),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("status_reason", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

endpoints = sa.Table(
    "endpoints", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("path", sa.Text),
    sa.Column("metadata_prefix", sa.String(64)),
    sa.Column("set_spec", sa.Text),
    sa.Column("schedule", sa.String(128)),
    sa.Column("options", JSONType, nullable=False, default=dict),   # probe results, CQL query...
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Timestamp, nullable=False),
    # one harvest of an endpoint at a time, across every worker sharing the database
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_until", Timestamp),
)

harvest_runs = sa.Table(
    "harvest_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("endpoint_id", sa.Integer, sa.ForeignKey("endpoints.id", ondelete="SET NULL")),
    sa.Column("kind", sa.String(16), nullable=False),            # ingest | harvest
    sa.Column("source", sa.Text),                                # path or redacted URL
    sa.Column("status", sa.String(16), nullable=False),          # running | succeeded | failed
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Column("records_read", sa.Integer, nullable=False, server_default="0"),
    sa.Column("added", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("deleted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("quarantined", sa.Integer, nullable=False, server_default="0"),
    sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("response_date", sa.String(32)),                   # server clock (OAI-PMH)
    sa.Column("checkpoint", JSONType),                           # resumption state
    sa.Column("error", sa.Text),
)

records = sa.Table(
    "records", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("local_id", sa.String(255), nullable=False),
    sa.Column("endpoint_id", sa.Integer, sa.ForeignKey("endpoints.id", ondelete="SET NULL")),
    sa.Column("source_format", sa.String(16), nullable=False),   # marc21 | oai_dc
    sa.Column("record_type", sa.String(16), nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("year", sa.Integer),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("content_hash", sa.String(40), nullable=False),
    sa.Column("normalized", JSONType, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("raw_syntax", sa.String(16), nullable=False),      # iso2709 | marcxml | oai_dc
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("datestamp", sa.String(32)),                       # member's OAI datestamp
    sa.Column("last_run_id", sa.Integer),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("member_id", "local_id", name="uq_records_member_local"),
)
sa.Index("ix_records_member_deleted", records.c.member_id, records.c.deleted)
sa.Index("ix_records_endpoint_run", records.c.endpoint_id, records.c.last_run_id)

holdings = sa.Table(
    "holdings", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("location", sa.Text),
    sa.Column("call_number", sa.Text),
    sa.Column("lendable", sa.Boolean),
    sa.Column("barcode", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("source", sa.String(8)),
)

quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("harvest_runs.id", ondelete="SET NULL")),
    sa.Column("source", sa.Text),
    sa.Column("position", sa.Integer),
    sa.Column("byte_offset", sa.BigInteger),
    sa.Column("local_id", sa.String(255)),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

# --- the union index (issue 4) ------------------------------------------------------------
# A cluster is one work as the union catalogue shows it. Clusters are never deleted: a cluster
# that dissolves keeps its row with ``deleted`` true, so the OAI-PMH provider can answer with a
# persistent deleted record. ``updated_at`` is its OAI datestamp and changes whenever the
# cluster's membership or merged record changes.

clusters = sa.Table(
    "clusters", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("record_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("title", sa.Text),
    sa.Column("year", sa.Integer),
    sa.Column("format", sa.String(16)),
    sa.Column("merged", JSONType, nullable=False),          # protocols.union.UnionRecord
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)
sa.Index("ix_clusters_updated", clusters.c.updated_at, clusters.c.id)

# one row per clustered (live, bibliographic) record: which cluster it is in and why
cluster_records = sa.Table(
    "cluster_records", metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id"), nullable=False,
              index=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
)

# every record's match keys (kind: isbn, oclc, lccn, id, title_author, content, ...)
match_keys = sa.Table(
    "match_keys", metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("value", sa.String(255), nullable=False),
)
sa.Index("ix_match_keys_kind_value", match_keys.c.kind, match_keys.c.value)

# the explanation: each link joining two records of a cluster, with the rule and the values
cluster_links = sa.Table(
    "cluster_links", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id"), nullable=False,
              index=True),
    sa.Column("record_a", sa.Integer, sa.ForeignKey("records.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("record_b", sa.Integer, sa.ForeignKey("records.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("evidence", JSONType, nullable=False),        # the values compared
    sa.Column("created_at", Timestamp, nullable=False),
)

# staff decisions, kept by (member, local id) so they survive re-harvests and rebuilds:
# kind "split" keeps record A out of any cluster with record B (B null: alone);
# kind "merge" keeps A and B in one cluster
cluster_decisions = sa.Table(
    "cluster_decisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("member_a", sa.String(64), nullable=False),
    sa.Column("local_id_a", sa.String(255), nullable=False),
    sa.Column("member_b", sa.String(64)),
    sa.Column("local_id_b", sa.String(255)),
    sa.Column("reason", sa.Text),
    sa.Column("made_by", sa.String(128)),
    sa.Column("created_at", Timestamp, nullable=False),
)

# --- search over the union index (issue 4, search; migration 0003) ------------------------
# Rebuilt per cluster by gateway.index.search.reindex_clusters from clusters.merged; a deleted
# cluster has no rows here. The words live in a dialect-specific text index beside these:
#   SQLite:     the FTS5 virtual table ``search_fts(title, author, subject, other)``, rowid =
#               cluster id, created by the migration (FTS5 tables have no Core definition)
#   PostgreSQL: ``search_docs.document``, a tsvector (weights A title, B author, C subject,
#               D other) with a GIN index; NULL and unused on SQLite

TSVectorType = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")

# one row per searchable cluster: what filters, facets and ranking read without the JSON
search_docs = sa.Table(
    "search_docs", metadata,
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("year", sa.Integer),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("lendable", sa.Boolean, nullable=False),      # a lendable copy at an open member
    sa.Column("holder_count", sa.Integer, nullable=False),
    # facets read these with the row instead of joining per match: "eng fre", "SE-UMU GB-UkDem"
    sa.Column("languages", sa.Text, nullable=False, server_default=""),
    sa.Column("holders", sa.Text, nullable=False, server_default=""),
    sa.Column("document", TSVectorType),
)
sa.Index("ix_search_docs_format_year", search_docs.c.format, search_docs.c.year)
sa.Index("ix_search_docs_year", search_docs.c.year)

# exact identifier lookup: kind isbn (ISBN-13), issn (NNNN-NNNN), oclc (digits)
cluster_identifiers = sa.Table(
    "cluster_identifiers", metadata,
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("value", sa.String(64), nullable=False),
)
sa.Index("ix_cluster_identifiers_kind_value", cluster_identifiers.c.kind,
         cluster_identifiers.c.value)

# the members holding a cluster (a source record or a holding), and whether they lend it
cluster_holders = sa.Table(
    "cluster_holders", metadata,
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("member", sa.String(64), nullable=False),
    sa.Column("lendable", sa.Boolean, nullable=False),
)
# covering in both directions: facets go cluster -> member, filters member -> cluster
sa.Index("ix_cluster_holders_cluster", cluster_holders.c.cluster_id, cluster_holders.c.member,
         cluster_holders.c.lendable)
sa.Index("ix_cluster_holders_member", cluster_holders.c.member, cluster_holders.c.cluster_id)

cluster_languages = sa.Table(
    "cluster_languages", metadata,
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
)
sa.Index("ix_cluster_languages_cluster", cluster_languages.c.cluster_id,
         cluster_languages.c.language)
sa.Index("ix_cluster_languages_language", cluster_languages.c.language,
         cluster_languages.c.cluster_id)
