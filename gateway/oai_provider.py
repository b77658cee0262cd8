"""The union catalogue as an OAI-PMH 2.0 repository: the store side of ``/oai``.

    OaiProvider(store, settings).respond(pairs, base_url) → XML bytes (errors included)
    refresh_sets(conn, cluster_ids)   keep ``cluster_sets`` in step with clusters (the index
                                      calls it whenever it writes clusters)
    refresh_all_sets(store)           the same for every cluster (after the migration)

Lists are keyset-paged by (updated_at, id): a cluster that changes during a harvest moves
behind the cursor's position and comes once more at the end, so nothing is lost and no
offset drifts. The resumption token carries the query and that position, signed
(protocols/oaipmh/provider_tokens.py) with one key shared by every worker on the store.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from config.settings import Settings
from gateway.store import Store
from gateway.store.schema import cluster_sets, clusters, gateway_secrets, members
from protocols.oaipmh import provider_xml as oai_xml
from protocols.oaipmh.errors import (
    CannotDisseminateFormat, IdDoesNotExist, NoRecordsMatch, OAIError,
)
from protocols.oaipmh.provider import (
    FORMAT_SET, MEMBER_SET, METADATA_FORMATS, ListRequest, OaiRequest, cluster_id_from_identifier,
    cluster_identifier, date_window, format_set_spec, list_request, member_set_spec,
    parse_request,    set_specs_for, unknown_token,
)
from protocols.oaipmh.provider_metadata import union_to_dc, union_to_marcxml
from protocols.oaipmh.provider_tokens import TokenState, read_token, sign_token
from protocols.records import FORMATS
from protocols.union import UnionRecord

log = logging.getLogger(__name__)

__all__ = ["OaiProvider", "refresh_sets", "refresh_all_sets", "token_key"]

TOKEN_SECRET = "oai_token_key"
COMPRESSION = ("gzip", "deflate")      # what gateway/views/oai.py answers an Accept-Encoding with
_RENDERERS = {"marc21": union_to_marcxml, "oai_dc": union_to_dc}


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive; every timestamp the gateway writes is UTC
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- sets --------------------------------------------------------------------------------------


async def refresh_sets(conn: AsyncConnection, cluster_ids: Iterable[int], *,
                       merged: Mapping[int, UnionRecord] | None = None,
                       created: Collection[int] = ()) -> None:
    """Recompute the OAI sets of ``cluster_ids`` from their merged records (``merged``: the
    live ones' merged records the caller just wrote; the others are read; ``created``: made
    in this transaction, no sets yet).

    A dissolved cluster whose last merged record no longer names any member keeps the sets it
    had, so its deleted record is still found by set-filtered incremental harvests.
    """
    ids = sorted(set(cluster_ids))
    merged = merged or {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        # (cluster id, deleted, merged record) of each cluster that exists
        found = [(cid, False, merged[cid]) for cid in chunk if cid in merged]
        unknown = [cid for cid in chunk if cid not in merged]
        if unknown:
            found += [(row.id, row.deleted, UnionRecord.from_dict(row.merged))
                      for row in await conn.execute(
                          sa.select(clusters.c.id, clusters.c.deleted, clusters.c.merged)
                          .where(clusters.c.id.in_(unknown)))]
        if not found:
            continue
        dissolved = {cid for cid, deleted, union in found if deleted and not union.members}
        kept: dict[int, set[str]] = {}
        if dissolved:
            for cluster_id, spec in await conn.execute(
                    sa.select(cluster_sets.c.cluster_id, cluster_sets.c.set_spec)
                    .where(cluster_sets.c.cluster_id.in_(dissolved))):
                kept.setdefault(cluster_id, set()).add(spec)
        stale = [cid for cid, _d, _u in found if cid not in created]
        if stale:
            await conn.execute(sa.delete(cluster_sets).where(
                cluster_sets.c.cluster_id.in_(stale)))
        values = []
        for cid, _deleted, union in found:
            specs = dict.fromkeys(set_specs_for(union))
            specs.update(dict.fromkeys(sorted(kept.get(cid, ()))))
            values += [{"cluster_id": cid, "set_spec": spec} for spec in specs]
        if values:
            await conn.execute(sa.insert(cluster_sets), values)


async def refresh_all_sets(store: Store, batch: int = 2000) -> int:
    """refresh_sets for every cluster, in batches; returns how many clusters were seen."""
    after, seen = 0, 0
    while True:
        async with store.begin() as conn:
            ids = (await conn.execute(sa.select(clusters.c.id).where(clusters.c.id > after)
                                      .order_by(clusters.c.id).limit(batch))).scalars().all()
            if not ids:
                return seen
            await refresh_sets(conn, ids)
        after, seen = ids[-1], seen + len(ids)


# --- the token key -----------------------------------------------------------------------------


async def token_key(store: Store, settings: Settings) -> bytes:
    """The configured key, else the one kept in the store (made once, by whichever worker
    gets there first: a lost insert race reads the winner's key)."""
    if settings.oai_token_key:
        return settings.oai_token_key.encode()
    async with store.connect() as conn:
        stored = (await conn.execute(sa.select(gateway_secrets.c.value).where(
            gateway_secrets.c.name == TOKEN_SECRET))).scalar_one_or_none()
    if stored is None:
        try:
            async with store.begin() as conn:
                await conn.execute(sa.insert(gateway_secrets).values(
                    name=TOKEN_SECRET, value=secrets.token_hex(32),
                    created_at=datetime.now(UTC)))
        except sa.exc.IntegrityError:
            log.info("another worker made the OAI token key first; using theirs")
        async with store.connect() as conn:
            stored = (await conn.execute(sa.select(gateway_secrets.c.value).where(
                gateway_secrets.c.name == TOKEN_SECRET))).scalar_one()
    return bytes.fromhex(stored)


# --- the provider ------------------------------------------------------------------------------


class OaiProvider:
    """Answers OAI-PMH requests from the clusters table. One per app; cheap to build."""

    def __init__(self, store: Store, settings: Settings, *, clock=time.time) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._key: bytes | None = None

    @property
    def repository_identifier(self) -> str:
        return self.settings.oai_repository_identifier

    async def key(self) -> bytes:
        if self._key is None:
            self._key = await token_key(self.store, self.settings)
        return self._key

    async def respond(self, pairs: Sequence[tuple[str, str]], base_url: str) -> bytes:
        """The response document for one request; protocol errors are answered, not raised."""
        base_url = self.settings.oai_base_url or base_url
        now = datetime.fromtimestamp(self.clock(), UTC)
        request: OaiRequest | None = None
        try:
            request = parse_request(pairs)
            root, _ = oai_xml.envelope(base_url, now, request)
            handlers = {
                "Identify": self._identify, "ListMetadataFormats": self._list_metadata_formats,
                "ListSets": self._list_sets, "GetRecord": self._get_record,
                "ListIdentifiers": self._list, "ListRecords": self._list,
            }
            await handlers[request.verb](root, request, base_url)
        except OAIError as exc:
            return oai_xml.error_response(base_url, now, exc, request)
        return oai_xml.to_bytes(root)

    # -- verbs --

    async def _identify(self, root, request: OaiRequest, base_url: str) -> None:
        async with self.store.connect() as conn:
            earliest = (await conn.execute(sa.select(sa.func.min(clusters.c.updated_at))
                                           )).scalar_one_or_none()
        info = oai_xml.RepositoryInfo(
            name=self.settings.oai_repository_name, base_url=base_url,
            admin_emails=tuple(a.strip() for a in self.settings.oai_admin_email.split(",")),
            earliest_datestamp=_utc(earliest) if earliest else datetime.fromtimestamp(
                self.clock(), UTC),
            compression=COMPRESSION)
        oai_xml.identify(root, info)

    async def _list_metadata_formats(self, root, request: OaiRequest, base_url: str) -> None:
        identifier = request.get("identifier")
        if identifier is not None:
            async with self.store.connect() as conn:
                await self._cluster_row(conn, identifier)   # raises idDoesNotExist
        oai_xml.metadata_formats(root, METADATA_FORMATS.values())

    async def _list_sets(self, root, request: OaiRequest, base_url: str) -> None:
        if (token := request.get("resumptionToken")) is not None:
            raise unknown_token(token)
        async with self.store.connect() as conn:
            names = dict((await conn.execute(sa.select(members.c.code, members.c.name))).all())
            used = (await conn.execute(sa.select(cluster_sets.c.set_spec).distinct())
                    ).scalars().all()
        member_sets = {member_set_spec(code): f"Held by {name} ({code})"
                       for code, name in names.items()}
        format_sets = {format_set_spec(fmt): f"Format: {fmt}" for fmt in FORMATS}
        for spec in used:
            if spec.startswith(MEMBER_SET + ":"):
                member_sets.setdefault(spec, f"Held by member {spec.split(':', 1)[1]}")
            elif spec.startswith(FORMAT_SET + ":"):
                format_sets.setdefault(spec, f"Format: {spec.split(':', 1)[1]}")
        entries = [(MEMBER_SET, "Clusters by holding member")] + sorted(member_sets.items())
        entries += [(FORMAT_SET, "Clusters by format")] + sorted(format_sets.items())
        oai_xml.sets(root, entries)

    async def _get_record(self, root, request: OaiRequest, base_url: str) -> None:
        prefix = request.arguments["metadataPrefix"]
        async with self.store.connect() as conn:
            row = await self._cluster_row(conn, request.arguments["identifier"])
            self._check_prefix(prefix)
            specs = await self._set_specs(conn, [row.id])
        answer = oai_xml.verb_element(root, "GetRecord")
        self._append(answer, "ListRecords", prefix, row, specs.get(row.id, ()))

    # -- lists --

    async def _list(self, root, request: OaiRequest, base_url: str) -> None:
        token = request.get("resumptionToken")
        if token is not None:
            state = read_token(token, await self.key(), now=self.clock(), verb=request.verb)
            query, after = state.query, (state.after_datestamp, state.after_id)
            cursor, size = state.cursor, state.complete_list_size
        else:
            query, after, cursor, size = list_request(request), None, 0, None
        self._check_prefix(query.metadata_prefix)
        page_size = self.settings.oai_page_size
        async with self.store.connect() as conn:
            if size is None:
                size = (await conn.execute(sa.select(sa.func.count()).select_from(
                    self._selection(query, big_set=False).subquery()))).scalar_one()
            selection = self._selection(query, big_set=size > 10 * page_size)
            if after is not None:
                stamp, last_id = after
                # the range on updated_at alone lets both databases walk ix_clusters_updated
                selection = selection.where(
                    clusters.c.updated_at >= stamp,
                    sa.or_(clusters.c.updated_at > stamp, clusters.c.id > last_id))
            rows = (await conn.execute(selection.order_by(clusters.c.updated_at, clusters.c.id)
                                       .limit(page_size + 1))).all()
            if not rows:
                if token is not None:
                    raise NoRecordsMatch("the clusters left in this list changed after it "
                                         "began; harvest again from its last datestamp")
                raise NoRecordsMatch(f"no cluster matches {self._describe(query)}")
            page = rows[:page_size]
            specs = await self._set_specs(conn, [row.id for row in page])
        answer = oai_xml.verb_element(root, query.verb)
        for row in page:
            self._append(answer, query.verb, query.metadata_prefix, row, specs.get(row.id, ()))
        if len(rows) > page_size or token is not None:
            next_token, expires = None, None
            if len(rows) > page_size:
                last = page[-1]
                expires = int(self.clock()) + self.settings.oai_token_ttl
                next_token = sign_token(TokenState(
                    query=query, after_datestamp=_utc(last.updated_at), after_id=last.id,
                    cursor=cursor + len(page), complete_list_size=size, expires=expires),
                    await self.key())
            oai_xml.resumption_token(
                answer, next_token, cursor=cursor, complete_list_size=size,
                expires=datetime.fromtimestamp(expires, UTC) if expires else None)

    def _selection(self, query: ListRequest, *, big_set: bool) -> sa.Select:
        """The list's rows. A set filter is a join for a small set (its rows are sorted per
        page) and, for a big one, a per-row EXISTS while walking ix_clusters_updated in order
        (the page fills after page_size / density rows instead of sorting the whole set)."""
        start, end = date_window(query.from_, query.until)
        selection = sa.select(clusters.c.id, clusters.c.deleted, clusters.c.updated_at,
                              *([clusters.c.merged] if query.verb == "ListRecords" else []))
        if query.set_spec is not None:
            in_set = sa.and_(cluster_sets.c.cluster_id == clusters.c.id,
                             cluster_sets.c.set_spec == query.set_spec)
            if big_set:
                selection = selection.where(sa.exists().where(in_set))
            else:
                selection = selection.join(cluster_sets, in_set)
        if start is not None:
            selection = selection.where(clusters.c.updated_at >= start)
        if end is not None:
            selection = selection.where(clusters.c.updated_at < end)
        return selection

    @staticmethod
    def _describe(query: ListRequest) -> str:
        parts = [f"{name}={value!r}" for name, value in (
            ("set", query.set_spec), ("from", query.from_), ("until", query.until)) if value]
        return ", ".join(parts) or "the request (the repository is empty)"

    # -- helpers --

    @staticmethod
    def _check_prefix(prefix: str) -> None:
        if prefix not in METADATA_FORMATS:
            raise CannotDisseminateFormat(
                f"metadataPrefix {prefix!r} is not served; use one of "
                f"{', '.join(METADATA_FORMATS)}")

    async def _cluster_row(self, conn: AsyncConnection, identifier: str) -> Any:
        cluster_id = cluster_id_from_identifier(self.repository_identifier, identifier)
        row = None
        if cluster_id is not None:
            row = (await conn.execute(sa.select(
                clusters.c.id, clusters.c.deleted, clusters.c.updated_at, clusters.c.merged)
                .where(clusters.c.id == cluster_id))).one_or_none()
        if row is None:
            raise IdDoesNotExist(f"no record {identifier!r} in this repository; identifiers "
                                 f"look like {cluster_identifier(self.repository_identifier, 1)!r}")
        return row

    @staticmethod
    async def _set_specs(conn: AsyncConnection, ids: list[int]) -> dict[int, tuple[str, ...]]:
        found: dict[int, list[str]] = {}
        rows = await conn.execute(sa.select(cluster_sets.c.cluster_id, cluster_sets.c.set_spec)
                                  .where(cluster_sets.c.cluster_id.in_(ids))
                                  .order_by(cluster_sets.c.cluster_id, cluster_sets.c.set_spec))
        for cluster_id, spec in rows:
            found.setdefault(cluster_id, []).append(spec)
        return {cluster_id: tuple(specs) for cluster_id, specs in found.items()}

    def _append(self, parent, verb: str, prefix: str, row: Any, specs: tuple[str, ...]) -> None:
        header = oai_xml.OaiHeader(
            identifier=cluster_identifier(self.repository_identifier, row.id),
            datestamp=_utc(row.updated_at), set_specs=specs, deleted=bool(row.deleted))
        if verb == "ListIdentifiers":
            oai_xml.header(parent, header)
            return
        metadata = None
        if not row.deleted:
            record = UnionRecord.from_dict(row.merged)
            record.cluster_id = row.id
            metadata = _RENDERERS[prefix](record)
        oai_xml.record(parent, header, metadata)

