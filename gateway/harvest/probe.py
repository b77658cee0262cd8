"""The registration probe: an OAI-PMH endpoint must answer as configured before it is saved."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from config.settings import Settings
from connectors.errors import ConnectorError
from connectors.http import HttpClient, RetryPolicy, make_session
from connectors.oaipmh import OaiPmhConnector
from gateway.registry import EndpointSpec, RegistryError
from protocols.errors import ProtocolError
from protocols.oaipmh import NoSetHierarchy
from protocols.redaction import redact_url

# registration is interactive: a couple of quick tries, not the nightly harvest's patience
PROBE_POLICY = RetryPolicy(attempts=2, base_delay=0.5, max_delay=2.0, max_retry_after=5.0,
                           deadline=30.0)


async def probe_oai(spec: EndpointSpec, connector: OaiPmhConnector) -> None:
    """Identify + ListMetadataFormats (+ ListSets when a set is named); facts go to options."""
    shown = redact_url(spec.url)
    try:
        identify = await connector.identify()
    except ConnectorError as exc:
        raise RegistryError(f"OAI-PMH endpoint {shown} is not reachable: {exc}") from None
    except ProtocolError as exc:
        raise RegistryError(f"{shown} does not answer Identify as an OAI-PMH repository: "
                            f"{exc}") from None
    try:
        formats = await connector.metadata_formats()
        prefixes = [f.prefix for f in formats]
        if spec.metadata_prefix not in prefixes:
            raise RegistryError(f"OAI-PMH endpoint {shown} does not offer metadataPrefix "
                                f"{spec.metadata_prefix!r}; it offers {', '.join(prefixes)}")
        if spec.set_spec:
            try:
                specs = [s.spec for s in await connector.sets()]
            except NoSetHierarchy:
                specs = []
            if spec.set_spec not in specs:
                raise RegistryError(f"OAI-PMH endpoint {shown} has no set {spec.set_spec!r}"
                                    + (f"; it has {len(specs)} sets, e.g. "
                                       f"{', '.join(specs[:5])}" if specs else "; it has none"))
    except (ConnectorError, ProtocolError) as exc:
        raise RegistryError(f"OAI-PMH endpoint {shown} failed the registration check: "
                            f"{exc}") from None
    spec.options.update(granularity=identify.granularity,
                        deleted_record=identify.deleted_record,
                        earliest_datestamp=identify.earliest_datestamp,
                        compression=identify.compression,
                        repository_name=identify.repository_name)


def make_prober(settings: Settings) -> Callable[[EndpointSpec], Awaitable[None]] | None:
    """The probe the registry runs on new endpoints, or None when probing is switched off."""
    if not settings.probe_endpoints:
        return None

    async def probe(spec: EndpointSpec) -> None:
        if spec.type != "oai-pmh":
            return
        async with make_session(min(settings.http_timeout, 30.0)) as session:
            http = HttpClient(session, PROBE_POLICY, max_bytes=settings.max_xml_bytes)
            await probe_oai(spec, OaiPmhConnector(spec.url, http))
    return probe
