"""Rapid onboarding: register a member, probe it, harvest it, cluster it, and say what it adds.

One call does what a consortium office does when a library joins in a hurry (an emergency is
when members lean on each other most): `libgate onboard CODE --name … --oai URL` (or
`--marc-file`). Clustering happens inside the harvest's own transactions, so when the harvest
ends the member's titles are already in the union index; the summary counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from config.settings import Settings
from gateway import registry
from gateway.harvest.probe import make_prober
from gateway.harvest.report import HarvestReport
from gateway.harvest.runner import Harvester, Target, targets
from gateway.registry import EndpointSpec
from gateway.store import Store
from gateway.store.schema import cluster_records, holdings


@dataclass(slots=True)
class OnboardSummary:
    member: str
    reports: list[HarvestReport] = field(default_factory=list)
    works: int = 0              # clusters holding a record of the member
    requestable: int = 0        # of them, with a copy marked lendable (what a loan rota asks)
    new_to_consortium: int = 0  # works no other member held

    def to_json(self) -> dict:
        return {"member": self.member, "works": self.works, "requestable": self.requestable,
                "new_to_consortium": self.new_to_consortium,
                "harvests": [r.to_dict() for r in self.reports]}


async def onboard(store: Store, settings: Settings, code: str, name: str,
                  specs: list[EndpointSpec], *, probe: bool = True,
                  on_step: Callable[[str], None] = lambda step: None,
                  progress_for: Callable[[Target], Callable[[HarvestReport], None]] | None = None,
                  ) -> OnboardSummary:
    if not specs:
        raise registry.RegistryError("onboarding needs a catalogue: --oai URL or --marc-file")
    on_step("registering and probing")
    await registry.add_member(store, code, name, endpoint_specs=specs,
                              probe=make_prober(settings) if probe else None)
    on_step("harvesting and clustering")
    chosen = await targets(store, [code])
    summary = OnboardSummary(member=code)
    summary.reports = await Harvester(store, settings).harvest_all(
        chosen, full=True, progress_for=progress_for)
    on_step("counting what is now requestable")
    async with store.connect() as conn:
        await _count(conn, code, summary)
    return summary


async def _count(conn, code: str, summary: OnboardSummary) -> None:
    mid = await registry.member_id(conn, code)
    own = sa.select(cluster_records.c.cluster_id).where(cluster_records.c.member_id == mid)
    summary.works = await conn.scalar(
        sa.select(sa.func.count(sa.distinct(cluster_records.c.cluster_id)))
        .where(cluster_records.c.member_id == mid)) or 0
    # requestable as the broker routes a loan (issue 5): the member holds a copy marked
    # lendable. A record without item data, or whose copies do not say, is on no rota — the
    # count says so rather than promise requests that will never come
    summary.requestable = await conn.scalar(
        sa.select(sa.func.count(sa.distinct(cluster_records.c.cluster_id)))
        .select_from(cluster_records.join(holdings,
                                          holdings.c.record_id == cluster_records.c.record_id))
        .where((cluster_records.c.member_id == mid) & holdings.c.lendable.is_(True))) or 0
    shared = await conn.scalar(
        sa.select(sa.func.count(sa.distinct(cluster_records.c.cluster_id))).where(
            cluster_records.c.cluster_id.in_(own) & (cluster_records.c.member_id != mid))) or 0
    summary.new_to_consortium = summary.works - shared
