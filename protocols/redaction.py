"""Keeping secrets out of logs, errors and answers (pure string work)."""

from __future__ import annotations

from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pw", "token", "apikey", "api_key", "key",
                               "secret", "access_token"})


def redact_url(url: str | None) -> str | None:
    """The URL with any password and secret-looking query values replaced by ``***``.

    Endpoint URLs may embed credentials (``https://user:pw@host/oai?apikey=…``); they are
    stored as given but never shown in logs, errors, reports or API answers.
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if parts.password is not None:
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{parts.username}:***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_QUERY_KEYS for k, _ in pairs):
            query = urlencode([(k, "***" if k.lower() in SECRET_QUERY_KEYS else v)
                               for k, v in pairs], safe="*")
    return SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment).geturl()
