"""Typed application state: every ``web.AppKey`` of the gateway, declared once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from config.settings import Settings
from gateway.harvest.runner import Harvester
from gateway.metrics import HarvestMetrics
from gateway.oai_provider import OaiProvider
from gateway.registry import EndpointSpec
from gateway.scheduler import Scheduler
from gateway.security.keys import GatewayKey, KeyRing
from gateway.security.verifier import SignatureVerifier
from gateway.store import Store

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
METRICS = web.AppKey("metrics", HarvestMetrics)
HARVESTER = web.AppKey("harvester", Harvester)
SCHEDULER = web.AppKey("scheduler", Scheduler)          # absent when not scheduling
PROBE = web.AppKey("probe", Callable[[EndpointSpec], Awaitable[None]] | None)
BACKGROUND = web.AppKey("background", set[asyncio.Task])  # API-started harvests
GATEWAY_KEY = web.AppKey("gateway_key", GatewayKey)     # LibGate's own Ed25519 signing key
KEYRING = web.AppKey("keyring", KeyRing)                 # members' public keys, cached
VERIFIER = web.AppKey("verifier", SignatureVerifier)     # signature checks (worker processes)
OAI = web.AppKey("oai", OaiProvider)                    # the /oai provider
# the ILL broker (issue 5); VERIFY_SIGNATURES is never a setting: only bench/broker.py turns it
# off, in its own process, to measure what verification costs
from gateway.broker.engine import Broker  # noqa: E402

BROKER = web.AppKey("broker", Broker)
VERIFY_SIGNATURES = web.AppKey("verify_signatures", bool)
