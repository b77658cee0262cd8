"""The one table of settings, and the loader that fills it.

Precedence, lowest first: the default in :data:`SETTINGS`, the ``[gateway]`` table of the
consortium TOML file (``--config FILE``), ``LIBGATE_<NAME>`` environment variables, and
command-line flags (``--db``). Every value is validated here, and an error names the file (or
variable), the key and the value at fault.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


# Converting pages in a worker while the gateway commits the previous page made a 20,000
# record harvest 1.5x faster on 2 cores (bench/harvest.py); one core stays with the gateway.
_DEFAULT_HARVEST_WORKERS = min(2, max(0, (os.cpu_count() or 1) - 1))
_DEFAULT_REBUILD_WORKERS = min(2, os.cpu_count() or 1)
_DEFAULT_VERIFY_WORKERS = 1 if (os.cpu_count() or 1) > 1 else 0


class ConfigError(ValueError):
    """A setting or consortium file entry that cannot be used; the message names the culprit."""


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str
    check: Callable[[Any], str | None] | None = None   # returns a problem description or None

    @property
    def env_var(self) -> str:
        return "LIBGATE_" + self.name.upper()


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than zero"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must not be negative"


def _port(value: Any) -> str | None:
    return None if 0 <= value <= 65535 else "must be a TCP port (0-65535)"


def _db_url(value: Any) -> str | None:
    if value.startswith(("sqlite://", "postgresql://", "postgres://", "postgresql+asyncpg://",
                         "sqlite+aiosqlite://")):
        return None
    return "must start with sqlite:/// or postgresql://"


def _log_level(value: Any) -> str | None:
    levels = ("DEBUG", "INFO", "WARNING", "ERROR")
    return None if value.upper() in levels else f"must be one of {', '.join(levels)}"


def _oai_repository_identifier(value: Any) -> str | None:
    # the oai-identifier scheme: a domain name, so identifiers stay valid URIs
    labels = value.split(".")
    if len(labels) >= 2 and all(label and label.replace("-", "").isalnum() and label.isascii()
                                for label in labels):
        return None
    return "must be a domain name such as union.example.org"


def _emails(value: Any) -> str | None:
    addresses = [part.strip() for part in value.split(",")]
    if all("@" in a and "." in a.split("@", 1)[1] and " " not in a for a in addresses):
        return None
    return "must be one or more e-mail addresses, comma-separated"


def _token_key(value: Any) -> str | None:
    return None if value == "" or len(value) >= 32 else "must be empty or 32+ characters"
def _match_keys(value: Any) -> str | None:
    kinds = ("isbn", "issn", "oclc", "lccn", "id", "title", "content")
    for part in (p.strip() for p in value.replace("\n", ",").split(",")):
        if part and (":" not in part or part.split(":", 1)[0] not in kinds):
            return f"{part!r} is not KIND:VALUE with KIND one of {', '.join(kinds)}"
    return None


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "sqlite:///libgate.db",
            "Database URL: sqlite:///path.db (embedded, default) or postgresql://user@host/db.",
            check=_db_url),
    Setting("host", "127.0.0.1", "Address `libgate serve` listens on."),
    Setting("port", 8080, "Port `libgate serve` listens on.", int, _port),
    Setting("admin_token", "",
            "Consortium-admin bearer token for write calls of the HTTP API "
            "(empty: the HTTP API is read-only)."),
    Setting("ingest_batch_size", 500,
            "Records written per transaction during ingest and harvest.", int, _positive),
    Setting("http_timeout", 60.0,
            "Seconds before an outgoing HTTP request (MARC URL, OAI-PMH, SRU) times out.",
            float, _positive),
    Setting("max_xml_bytes", 64 * 2**20,
            "Largest XML document accepted from a member or peer, in bytes.", int, _positive),
    Setting("harvest_per_host", 2,
            "Requests in flight to one host at most, across all members harvested at once.",
            int, _positive),
    Setting("harvest_delay", 0.2,
            "Politeness: seconds between the starts of two requests to the same host.",
            float, _non_negative),
    Setting("harvest_workers", _DEFAULT_HARVEST_WORKERS,
            "Processes that parse, normalize and match-profile harvested pages and ingested "
            "MARC batches while the gateway commits the previous ones (0: in the gateway "
            "process; default: one per core beyond the first, at most 2).", int,
            _non_negative),
    Setting("harvest_overlap", 120.0,
            "Seconds subtracted from the server's last responseDate for the next incremental "
            "`from`, so records stamped during the previous run are not missed.",
            float, _non_negative),
    Setting("retry_attempts", 8, "Tries of one HTTP request, the first included.", int,
            _positive),
    Setting("retry_max_delay", 60.0, "Longest backoff between two tries, in seconds.", float,
            _positive),
    Setting("retry_max_after", 600.0, "Cap on a server's Retry-After, in seconds.", float,
            _positive),
    Setting("retry_deadline", 1800.0,
            "Seconds one request may take with all its retries before the member's run fails.",
            float, _positive),
    Setting("harvest_lease", 900.0,
            "Seconds a harvest holds its endpoint's lease without progress before another "
            "worker may take it over.", float, _positive),
    Setting("scheduler_interval", 30.0,
            "Seconds between two looks of the scheduler at the endpoints' cron schedules.",
            float, _positive),
    Setting("probe_endpoints", True,
            "Check an OAI-PMH endpoint (Identify, ListMetadataFormats, ListSets) when it is "
            "registered, and refuse it when it does not answer as configured.", bool),
    Setting("log_level", "INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.",
            check=_log_level),
    # --- signatures and tokens (inter-institution messages, staff API) ---
    Setting("signature_max_age", 300.0,
            "Seconds a signed ISO 18626 message stays acceptable after its `created` time; "
            "older ones are refused as expired (and their nonces may be forgotten).",
            float, _positive),
    Setting("signature_verify_workers", _DEFAULT_VERIFY_WORKERS,
            "Processes that check the signatures of received ISO 18626 messages while the "
            "gateway handles others (0: in the gateway process; default: one on a machine "
            "with more than one core). A worker starts with the first signed message.",
            int, _non_negative),
    Setting("key_grace_days", 7.0,
            "Days a member's previous signing key keeps verifying after `members keygen` "
            "rotates it.", float, _non_negative),
    Setting("gateway_key_file", "",
            "PEM file with LibGate's own Ed25519 signing key (shared by every gateway worker); "
            "empty: `libgate-gateway-key.pem` beside the SQLite database, created when missing."),
    Setting("files_dir", "",
            "Folder for copies lenders upload for delivery links (purged after expiry); "
            "empty: `libgate-files` beside the SQLite database."),
    Setting("oai_repository_name", "LibGate union catalogue",
            "repositoryName of the union catalogue's OAI-PMH provider (/oai)."),
    Setting("oai_repository_identifier", "libgate.example",
            "repositoryIdentifier (a domain name) in the OAI identifiers of /oai: "
            "oai:<this>:cluster/<id>. Changing it renames every record for harvesters.",
            check=_oai_repository_identifier),
    Setting("oai_base_url", "",
            "Public baseURL of /oai for Identify and <request> (empty: taken from the request)."),
    Setting("oai_admin_email", "oai-admin@libgate.example",
            "adminEmail(s) of /oai, comma-separated.", check=_emails),
    Setting("oai_page_size", 100,
            "Records (or headers) per ListRecords / ListIdentifiers page of /oai.", int,
            _positive),
    Setting("oai_token_ttl", 86400,
            "Seconds a /oai resumption token stays valid.", int, _positive),
    Setting("oai_token_key", "",
            "Secret (at least 32 characters) that signs /oai resumption tokens; every worker "
            "must share it. Empty: a random key is made once and kept in the store.",
            check=_token_key),
    Setting("cluster_key_limit", 50,
            "Key-frequency guard of the union index: a match key (an ISBN, a title key...) held "
            "by more records than this finds no duplicates (a series ISBN must not glue "
            "hundreds of books together).", int, _positive),
    Setting("cluster_max_size", 500,
            "Largest cluster the rules may build by themselves (staff merges may go past it).",
            int, _positive),
    Setting("cluster_rebuild_workers", _DEFAULT_REBUILD_WORKERS,
            "Processes that profile records and build merged records and search rows during "
            "`libgate clusters rebuild` while it writes the store; on SQLite they read the "
            "records from the file themselves (0: all in its own process; default: one per "
            "core, at most 2; a store of under 20,000 records uses none).", int,
            _non_negative),
    Setting("cluster_ignore_keys", "",
            "Match keys that are never evidence, comma-separated KIND:VALUE (e.g. "
            "\"isbn:9780000000002, oclc:1\"); kinds: isbn issn oclc lccn id title content.",
            check=_match_keys),
    # --- the ILL broker (issue 5) ---
    Setting("iso18626_url", "",
            "The URL members POST ISO 18626 messages to, as they address it (what their "
            "signatures cover, e.g. behind a proxy); empty: the URL the request arrived at."),
    Setting("ill_duplicate_days", 30.0,
            "A request for the same patron, item and service within this many days is held "
            "as a possible duplicate until staff confirm it.", float, _non_negative),
    Setting("ill_stats_days", 90.0,
            "Window in days of the lending/borrowing ratio and turnaround times that order "
            "the rota.", float, _positive),
    Setting("ill_check_interval", 60.0,
            "Seconds between two checks of lenders' response deadlines by `libgate serve`.",
            float, _positive),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(slots=True)
class Settings:
    """Resolved settings; ``sources`` says where each value came from (for `libgate settings`)."""

    values: dict[str, Any]
    sources: dict[str, str]
    config_file: Path | None = None
    members: list[dict[str, Any]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def coerce(setting: Setting, raw: Any, where: str) -> Any:
    """Turn ``raw`` into the setting's type and check it; ``where`` names the origin."""
    value = raw
    try:
        if setting.kind is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            value = int(raw)
        elif setting.kind is float:
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
        elif setting.kind is bool:
            if isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on"):
                value = True
            elif isinstance(raw, str) and raw.lower() in ("0", "false", "no", "off"):
                value = False
            elif not isinstance(raw, bool):
                raise ValueError
        elif setting.kind is str:
            if not isinstance(raw, str):
                raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: key {setting.name!r}: expected {setting.kind.__name__}, got {raw!r}"
        ) from None
    if setting.check is not None and (problem := setting.check(value)):
        raise ConfigError(f"{where}: key {setting.name!r}: {problem}, got {raw!r}")
    return value


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_settings(
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: defaults < TOML ``[gateway]`` < ``LIBGATE_*`` < ``overrides``."""
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in SETTINGS}
    sources = {s.name: "default" for s in SETTINGS}
    members: list[dict[str, Any]] = []
    path = Path(config_file) if config_file else None
    if path is not None:
        document = read_config_file(path)
        unknown_tables = set(document) - {"gateway", "members"}
        if unknown_tables:
            raise ConfigError(f"{path}: unknown table {sorted(unknown_tables)[0]!r}; "
                              "expected [gateway] and [[members]]")
        gateway = document.get("gateway", {})
        if not isinstance(gateway, dict):
            raise ConfigError(f"{path}: key 'gateway' must be a table, got {gateway!r}")
        for key, raw in gateway.items():
            setting = _BY_NAME.get(key)
            if setting is None:
                raise ConfigError(f"{path}: [gateway] unknown key {key!r}; known keys: "
                                  f"{', '.join(_BY_NAME)}")
            values[key] = coerce(setting, raw, f"{path} [gateway]")
            sources[key] = str(path)
        members = document.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
            raise ConfigError(f"{path}: 'members' must be an array of tables ([[members]])")
    for setting in SETTINGS:
        if setting.env_var in environ:
            values[setting.name] = coerce(setting, environ[setting.env_var], setting.env_var)
            sources[setting.name] = setting.env_var
    for key, raw in (overrides or {}).items():
        if raw is None:
            continue
        setting = _BY_NAME[key]
        values[key] = coerce(setting, raw, f"--{key.replace('_', '-')}")
        sources[key] = "command line"
    return Settings(values=values, sources=sources, config_file=path, members=members)


def settings_help() -> str:
    """The settings table as text, for --help epilogs and `libgate settings`."""
    lines = ["Settings (TOML [gateway] key / environment variable, default):"]
    for s in SETTINGS:
        lines.append(f"  {s.name} / {s.env_var} (default {s.default!r})")
        lines.append(f"      {s.help}")
    return "\n".join(lines)
