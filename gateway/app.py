"""The aiohttp application: routes, error middleware, and the lifecycle of shared resources."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from config.settings import Settings
from connectors.http import make_session
from gateway.catalogue import RecordNotFound
from gateway.harvest.probe import make_prober
from gateway.harvest.runner import Harvester
from gateway import housekeeping
from gateway.broker.engine import Broker
from gateway.keys import (
    BACKGROUND,
    BROKER,
    GATEWAY_KEY,
    HARVESTER,
    KEYRING,
    METRICS,
    OAI,
    PROBE,
    SCHEDULER,
    SETTINGS,
    STORE,
    VERIFIER,
    VERIFY_SIGNATURES,
)
from gateway.index import configure as configure_cluster_policy
from gateway.index.decisions import ClusterError
from gateway.metrics import HarvestMetrics
from gateway.oai_provider import OaiProvider
from gateway.registry import RegistryError
from gateway.scheduler import Scheduler
from gateway.security.keys import KeyRing, load_gateway_key
from gateway.security.verifier import SignatureVerifier
from gateway.store import Store, open_store
from gateway.views import clusters as cluster_views
from gateway.views import eresources as eresource_views
from gateway.views import etas as etas_views
from gateway.views import harvests as harvest_views
from gateway.views import ill as ill_views
from gateway.views import iso18626 as iso18626_views
from gateway.views import members as member_views
from gateway.views import oai as oai_views
from gateway.views import pages, records as record_views
from gateway.views import search as search_views
from protocols.search_query import QueryError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain refusals become JSON errors with their status hint; bugs stay 500s."""
    try:
        return await handler(request)
    except RegistryError as exc:
        return json_error(exc.status_hint, str(exc))
    except RecordNotFound as exc:
        return json_error(404, str(exc))
    except QueryError as exc:
        return json_error(exc.status_hint, str(exc))
    except ClusterError as exc:
        return json_error(exc.status_hint, str(exc))
    except json.JSONDecodeError as exc:
        return json_error(400, f"request body is not valid JSON: {exc}")


def create_app(settings: Settings, store: Store | None = None, *,
               schedule: bool = False) -> web.Application:
    """Build the gateway. With ``store`` given (tests), the app uses it and does not close it;
    ``schedule`` runs the endpoints' cron schedules in the background (`libgate serve`)."""
    app = web.Application(middlewares=[errors_middleware], client_max_size=4 * 2**20)
    app[SETTINGS] = settings
    configure_cluster_policy(settings)
    app[METRICS] = HarvestMetrics()
    app[PROBE] = make_prober(settings)
    app[BACKGROUND] = set()
    app[GATEWAY_KEY] = load_gateway_key(settings.gateway_key_file, settings.db)
    app[VERIFY_SIGNATURES] = True

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        owned = store is None
        app[STORE] = store if store is not None else await open_store(settings.db)
        app[KEYRING] = KeyRing(app[STORE])
        app[VERIFIER] = SignatureVerifier(settings.signature_verify_workers)
        session = make_session(settings.http_timeout)
        app[HARVESTER] = Harvester(app[STORE], settings, metrics=app[METRICS], session=session)
        app[OAI] = OaiProvider(app[STORE], settings)
        app[BROKER] = Broker(app[STORE], settings, app[GATEWAY_KEY], session,
                             files_dir=eresource_views.files_dir(app))
        ticker = deadlines = tidying = None
        if schedule:
            app[VERIFIER].start()
            deadlines = asyncio.create_task(app[BROKER].run_deadlines(settings.ill_check_interval))
            tidying = asyncio.create_task(housekeeping.run(app[STORE], settings,
                                                           settings.ill_check_interval))
            app[SCHEDULER] = Scheduler(app[STORE], app[HARVESTER],
                                       interval=settings.scheduler_interval)
            ticker = asyncio.create_task(app[SCHEDULER].run())
        yield
        for loop in (deadlines, tidying):
            if loop is not None:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
        await app[BROKER].drain()
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await app[SCHEDULER].stop()
        for task in list(app[BACKGROUND]):
            task.cancel()
        await asyncio.gather(*app[BACKGROUND], return_exceptions=True)
        app[HARVESTER].close()
        await app[VERIFIER].close()
        await session.close()
        if owned:
            await app[STORE].close()

    app.cleanup_ctx.append(lifecycle)
    app.add_routes([
        web.get("/", pages.home),
        web.get("/health", pages.health),
        web.get("/metrics", pages.metrics),
        web.get("/api/stats", record_views.get_stats),
        web.get("/api/members", member_views.list_members),
        web.post("/api/members", member_views.add_member),
        web.get("/api/members/{code}", member_views.get_member),
        web.patch("/api/members/{code}", member_views.update_member),
        web.delete("/api/members/{code}", member_views.remove_member),
        web.post("/api/members/{code}/harvest", harvest_views.start_harvest),
        web.get("/api/harvests", harvest_views.list_harvests),
        web.get("/api/records/{member}/{local_id}", record_views.get_record),
        web.get("/api/quarantine", record_views.list_quarantine),
        web.get("/api/runs", record_views.list_runs),
        web.post("/api/members/{code}/eresources", eresource_views.load_kbart),
        web.post("/api/members/{code}/licences", eresource_views.load_licences),
        web.put("/api/members/{code}/status", eresource_views.put_status),
        web.get("/api/members/{code}/policy", eresource_views.get_policy_view),
        web.patch("/api/members/{code}/policy", eresource_views.patch_policy),
        web.get("/api/posture", eresource_views.get_posture),
        web.post("/api/emergency", eresource_views.declare_emergency),
        web.delete("/api/emergency", eresource_views.end_emergency),
        web.get("/api/copyright/{member}/{year}", eresource_views.copyright_report),
        web.post("/api/deliveries", eresource_views.create_delivery),
        web.get("/links/{token}", eresource_views.open_delivery),
        web.get("/.well-known/jwks.json", eresource_views.public_keys),
        web.post("/api/grants", eresource_views.issue_grant),
        web.post("/api/etas/checkouts", etas_views.create_checkout),
        web.post("/api/etas/checkouts/{id}/renew", etas_views.renew_checkout),
        web.delete("/api/etas/checkouts/{id}", etas_views.return_checkout),
        web.get("/api/etas/report", etas_views.report),
        web.get("/oai", oai_views.oai),
        web.post("/oai", oai_views.oai),
        web.get("/api/search", search_views.search_clusters),
        web.get("/api/clusters/{cluster_id}", cluster_views.get_cluster),
        web.get("/api/clusters/{cluster_id}/explain", cluster_views.explain_cluster),
        web.post("/api/clusters/merge", cluster_views.merge_clusters),
        web.post("/api/clusters/{cluster_id}/split", cluster_views.split_cluster),
        web.post("/iso18626", iso18626_views.receive),
        web.post("/api/ill/requests", ill_views.create_request),
        web.get("/api/ill/requests", ill_views.list_requests),
        web.get("/api/ill/requests/{id}", ill_views.get_request),
        web.post("/api/ill/requests/{id}/actions", ill_views.act),
        web.get("/api/ill/closed-lender-loans", ill_views.closed_lender_loans),
        web.get("/api/ill/webhooks", ill_views.list_webhooks),
        web.post("/api/ill/webhooks", ill_views.add_webhook),
        web.delete("/api/ill/webhooks/{id}", ill_views.remove_webhook),
    ])
    return app
