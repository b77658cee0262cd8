"""Typed application state: every ``web.AppKey`` of the gateway, declared once."""

from __future__ import annotations

from aiohttp import web

from config.settings import Settings
from gateway.store import Store

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
