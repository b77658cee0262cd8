"""The LibGate gateway: aiohttp app, domain services, store, scheduler and CLI."""
