"""/oai: the union catalogue's OAI-PMH 2.0 endpoint (GET and form-encoded POST).

Thin: the arguments go to ``OaiProvider.respond``, whose XML (errors included) is answered
with 200, as the protocol wants: an OAI-PMH error is an answer, not an HTTP failure.
"""

from __future__ import annotations

from aiohttp import web

from gateway.keys import OAI

CONTENT_TYPE = "text/xml"


async def oai(request: web.Request) -> web.Response:
    if request.method == "POST":
        if request.content_type != "application/x-www-form-urlencoded":
            raise web.HTTPUnsupportedMediaType(
                text=f"OAI-PMH POST needs application/x-www-form-urlencoded, "
                     f"got {request.content_type!r}")
        arguments = list((await request.post()).items())
    else:
        arguments = list(request.query.items())
    base_url = str(request.url.with_query(None))
    body = await request.app[OAI].respond(
        [(name, value) for name, value in arguments if isinstance(value, str)], base_url)
    response = web.Response(body=body, content_type=CONTENT_TYPE, charset="utf-8")
    # a page of 100 MARCXML records shrinks about tenfold; Identify announces gzip and deflate
    response.enable_compression()
    return response
