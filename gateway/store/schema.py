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
    # lending policy: services offered, response deadline, delivery-link limits (see
    # gateway.policy for the keys and defaults)
    sa.Column("policy", JSONType),
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
    # protocols.matching.stored_profile of the live bibliographic record, as JSON text (None:
    # not made yet; a profile of another PROFILE_VERSION is made again by whoever reads it)
    sa.Column("match_profile", sa.Text),
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

# --- keys, tokens and replay protection (issue 5) -------------------------------------------

# members' Ed25519 public keys for RFC 9421 signatures. A rotated key keeps verifying until
# ``valid_until`` (the grace period); the private keys never reach the store.
member_keys = sa.Table(
    "member_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("key_id", sa.String(128), nullable=False, unique=True),
    sa.Column("public_key", sa.Text, nullable=False),           # base64url raw 32 bytes
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("valid_until", Timestamp),                        # None: current key
)

# staff and consortium-admin API tokens; only a SHA-256 of each token is kept
api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              index=True),                                     # None: consortium office
    sa.Column("role", sa.String(16), nullable=False),           # staff | admin
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp),
)

# signature nonces already accepted; the primary key makes a replay fail even when two
# gateway workers receive the same message at once
seen_nonces = sa.Table(
    "seen_nonces", metadata,
    sa.Column("key_id", sa.String(128), primary_key=True),
    sa.Column("nonce", sa.String(128), primary_key=True),
    sa.Column("seen_at", Timestamp, nullable=False, index=True),
)

# --- e-resources, emergency posture, access links, copyright (issue 6) ----------------------

# when a member's service status (members.status) applies: set by its admin with a reason
member_status_periods = sa.Table(
    "member_status_periods", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("starts_on", sa.Date),
    sa.Column("ends_on", sa.Date),
    sa.Column("set_by", sa.String(128)),
    sa.Column("created_at", Timestamp, nullable=False),
)

# consortium-wide emergencies (at most one open: ended_at null)
emergencies = sa.Table(
    "emergencies", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("declared_by", sa.String(128)),
    sa.Column("declared_at", Timestamp, nullable=False),
    sa.Column("ended_at", Timestamp),
)

# a member's e-resource holdings, one row per KBART line
eresource_titles = sa.Table(
    "eresource_titles", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("package", sa.String(255), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("publication_type", sa.String(16), nullable=False),
    sa.Column("coverage", JSONType, nullable=False),         # KBART coverage columns as found
    sa.Column("title_url", sa.Text),
    sa.Column("line", sa.Integer),
    sa.Column("loaded_at", Timestamp, nullable=False),
)
sa.Index("ix_eresource_titles_member_package", eresource_titles.c.member_id,
         eresource_titles.c.package)

eresource_identifiers = sa.Table(
    "eresource_identifiers", metadata,
    sa.Column("title_id", sa.Integer, sa.ForeignKey("eresource_titles.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("value", sa.String(32), nullable=False, index=True),   # ISSN or ISBN-13
)

licences = sa.Table(
    "licences", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("package", sa.String(255)),
    sa.Column("title_identifier", sa.String(32)),
    sa.Column("terms", JSONType, nullable=False),            # {illElectronic: "...", ...}
    sa.Column("emergency_from", sa.Date),
    sa.Column("emergency_until", sa.Date),
    sa.Column("note", sa.Text),
    sa.Column("loaded_at", Timestamp, nullable=False),
)

# signed, time-limited, view-limited delivery links; the token itself is never stored
access_links = sa.Table(
    "access_links", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("link_id", sa.String(32), nullable=False, unique=True),
    sa.Column("lender_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("borrower_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("request_ref", sa.String(128)),
    sa.Column("file_path", sa.Text),                          # uploaded copy (purged on expiry)
    sa.Column("url", sa.Text),                                # or the lender's URL
    sa.Column("filename", sa.Text),
    sa.Column("content_type", sa.String(128)),
    sa.Column("max_views", sa.Integer, nullable=False),
    sa.Column("views", sa.Integer, nullable=False, server_default="0"),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("purged_at", Timestamp),
)

# every copy supplied to a borrower, classified for copyright compliance
copyright_entries = sa.Table(
    "copyright_entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("borrower_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("title_key", sa.String(255), nullable=False),   # ISSN, else folded journal title
    sa.Column("journal_title", sa.Text),
    sa.Column("request_year", sa.Integer, nullable=False),
    sa.Column("published_year", sa.Integer),
    sa.Column("category", sa.String(4), nullable=False),      # CCG | CCL
    sa.Column("ordinal", sa.Integer),
    sa.Column("needs_decision", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("decision", sa.String(16)),                     # royalty | refused | None
    sa.Column("request_ref", sa.String(128)),
    sa.Column("created_at", Timestamp, nullable=False),
)
sa.Index("ix_copyright_borrower_title_year", copyright_entries.c.borrower_id,
         copyright_entries.c.title_key, copyright_entries.c.request_year)

# records a member can also serve as a digitized copy (by local id: survives re-harvests)
digitized_records = sa.Table(
    "digitized_records", metadata,
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("local_id", sa.String(255), primary_key=True),
    sa.Column("url", sa.Text),
    sa.Column("added_at", Timestamp, nullable=False),
)

# emergency temporary access: one concurrent digital reader per print copy the member holds.
# A checkout takes a numbered slot; the unique index on live slots makes two readers racing
# for the last copy end with exactly one winner, on SQLite and PostgreSQL alike.
etas_checkouts = sa.Table(
    "etas_checkouts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id"), nullable=False),
    sa.Column("slot", sa.Integer, nullable=False),
    sa.Column("reader", sa.String(255), nullable=False),      # the member's patron reference
    sa.Column("digital_member_id", sa.Integer, sa.ForeignKey("members.id")),  # who serves it
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("ended_at", Timestamp),                          # returned or expired
    sa.Column("live", sa.Boolean),                             # True while active, else NULL
)
sa.Index("uq_etas_live_slot", etas_checkouts.c.member_id, etas_checkouts.c.cluster_id,
         etas_checkouts.c.slot, etas_checkouts.c.live, unique=True)
# --- the OAI-PMH provider (issue 4) ---------------------------------------------------------
# Secrets the gateway makes itself and every worker on the store must share (the resumption
# token key when ``oai_token_key`` is not set); kept so tokens survive restarts.
gateway_secrets = sa.Table(
    "gateway_secrets", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

# the OAI-PMH sets of each cluster (member:<code>, format:<format> and their parents), kept
# by gateway.oai_provider.refresh_sets so set-filtered harvests use an index and a dissolved
# cluster keeps the sets it was in (its deleted record must still show up in them)
cluster_sets = sa.Table(
    "cluster_sets", metadata,
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("set_spec", sa.String(255), primary_key=True),
)
sa.Index("ix_cluster_sets_spec", cluster_sets.c.set_spec, cluster_sets.c.cluster_id)
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

# --- the ILL broker (issue 5) --------------------------------------------------------------
# One row per ILL request a borrowing member made through LibGate. ``ref`` is its
# requestingAgencyRequestId (the same towards every lender of its rota). The ISO 18626
# transaction with the current lender is kept in ``status`` / ``supplier_id`` / ``txn`` and
# changed only through ``protocols.iso18626.states.Transaction.apply``; ``version`` makes every
# change a conditional UPDATE (optimistic concurrency: no lost update on SQLite or PostgreSQL).
ill_requests = sa.Table(
    "ill_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ref", sa.String(64), nullable=False),
    sa.Column("requester_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id")),
    sa.Column("service_type", sa.String(8), nullable=False),       # Loan | Copy
    sa.Column("citation", JSONType, nullable=False),                # what is asked for
    sa.Column("item_key", sa.String(255), nullable=False),          # duplicate detection
    sa.Column("patron_ref", sa.String(255)),
    sa.Column("needed_by", sa.Date),
    sa.Column("accept_print", sa.Boolean, nullable=False, server_default=sa.false()),
    # held | in-progress | unfilled | completed | cancelled | no-lenders
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("holds", JSONType, nullable=False),                   # why it waits for staff
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),  # current rota entry
    sa.Column("supplier_id", sa.Integer, sa.ForeignKey("members.id", ondelete="SET NULL"),
              index=True),
    sa.Column("status", sa.String(32)),                             # ISO 18626 status
    sa.Column("txn", JSONType, nullable=False),                     # the rest of the Transaction
    sa.Column("excluded", JSONType, nullable=False),                # members left off, and why
    sa.Column("conditions", JSONType),                              # a lender's pending conditions
    sa.Column("deadline_at", Timestamp),                            # current lender must answer by
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("requester_id", "ref", name="uq_ill_requests_requester_ref"),
)
sa.Index("ix_ill_requests_state_deadline", ill_requests.c.state, ill_requests.c.deadline_at)

# the rota of a request: one row per lender, in order, with the reason for its position
ill_rota = sa.Table(
    "ill_rota", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("ill_requests.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("term", sa.Text),                          # licence term that allowed a copy
    # waiting | sent | unfilled | no-answer | closed | supplied | cancelled
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("sent_at", Timestamp),
    sa.Column("answered_at", Timestamp),
    sa.UniqueConstraint("request_id", "position", name="uq_ill_rota_request_position"),
)

# every ISO 18626 message in and out (and the broker's own decisions), for audit: the raw XML
# (secrets redacted), its parsed form, the signature verdict and the answer
ill_messages = sa.Table(
    "ill_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("ill_requests.id", ondelete="CASCADE"),
              index=True),
    sa.Column("direction", sa.String(8), nullable=False),       # in | out | internal
    sa.Column("kind", sa.String(48)),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="SET NULL"),
              index=True),                                     # the peer
    sa.Column("raw", sa.Text),
    sa.Column("parsed", JSONType),
    sa.Column("signature", sa.Text, nullable=False),            # verdict
    sa.Column("outcome", sa.Text),
    sa.Column("answer", sa.Text),                               # the confirmation
    sa.Column("created_at", Timestamp, nullable=False),
)

# URLs a member registered to hear about its requests' state changes (signed like messages)
ill_webhooks = sa.Table(
    "ill_webhooks", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)
