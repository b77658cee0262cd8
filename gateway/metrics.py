"""Prometheus metrics of the harvest (prometheus-client), one registry per application."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class HarvestMetrics:
    """Records harvested, pages, retries, failures and last success time per member."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.enabled = True
        self._records = Counter("libgate_harvest_records", "Records harvested",
                                ["member"], registry=self.registry)
        self._pages = Counter("libgate_harvest_pages", "Pages harvested", ["member"],
                              registry=self.registry)
        self._retries = Counter("libgate_harvest_retries", "HTTP retries", ["member"],
                                registry=self.registry)
        self._failures = Counter("libgate_harvest_failures", "Failed harvest runs",
                                 ["member"], registry=self.registry)
        self._last_success = Gauge("libgate_harvest_last_success_timestamp_seconds",
                                   "When the member's last harvest succeeded (Unix time)",
                                   ["member"], registry=self.registry)

    @classmethod
    def disabled(cls) -> HarvestMetrics:
        metrics = cls()
        metrics.enabled = False
        return metrics

    def page(self, member: str, records: int) -> None:
        self._pages.labels(member).inc()
        self._records.labels(member).inc(records)

    def retry(self, member: str) -> None:
        self._retries.labels(member).inc()

    def failure(self, member: str) -> None:
        self._failures.labels(member).inc()

    def success(self, member: str) -> None:
        self._last_success.labels(member).set(time.time())

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
