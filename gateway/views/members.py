"""/api/members: the member registry as JSON."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import registry
from gateway.keys import PROBE, STORE
from gateway.registry import EndpointSpec, RegistryError
from gateway.views.auth import require_admin


async def _json_object(request: web.Request) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise RegistryError(f"expected a JSON object, got {type(body).__name__}")
    return body


def _specs(items: Any, where: str) -> list[EndpointSpec]:
    if not isinstance(items, list):
        raise RegistryError(f"{where} must be a list of endpoint objects")
    return [EndpointSpec.from_mapping(e, f"{where}[{i}]") if isinstance(e, dict)
            else EndpointSpec.from_mapping({}, f"{where}[{i}]") for i, e in enumerate(items)]


async def list_members(request: web.Request) -> web.Response:
    return web.json_response(await registry.list_members(request.app[STORE]))


async def get_member(request: web.Request) -> web.Response:
    return web.json_response(await registry.get_member(request.app[STORE],
                                                       request.match_info["code"]))


async def add_member(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await _json_object(request)
    member = await registry.add_member(
        request.app[STORE], str(body.get("code", "")), str(body.get("name", "")),
        contact=body.get("contact"), status=body.get("status", "open"),
        endpoint_specs=_specs(body.get("endpoints", []), "endpoints"),
        probe=request.app[PROBE])
    return web.json_response(member, status=201)


async def update_member(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await _json_object(request)
    removals = body.get("remove_endpoints", [])
    if not isinstance(removals, list) or not all(isinstance(i, int) for i in removals):
        raise RegistryError(f"remove_endpoints must be a list of endpoint ids, got {removals!r}")
    member = await registry.update_member(
        request.app[STORE], request.match_info["code"], name=body.get("name"),
        contact=body.get("contact"), status=body.get("status"),
        status_reason=body.get("status_reason"),
        add_endpoints=_specs(body.get("add_endpoints", []), "add_endpoints"),
        remove_endpoints=removals, probe=request.app[PROBE])
    return web.json_response(member)


async def remove_member(request: web.Request) -> web.Response:
    await require_admin(request)
    await registry.remove_member(request.app[STORE], request.match_info["code"])
    return web.Response(status=204)
