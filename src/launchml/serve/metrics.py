"""Prometheus metrics of one app: requests, latency, batch sizes, queue depth.

Each app has its own registry, so two apps in one process (tests, an embedding host) never mix
their counts. With several uvicorn workers, set ``PROMETHEUS_MULTIPROC_DIR`` (``launchml serve
--workers N`` does) and ``/metrics`` adds up every worker's figures.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServeMetrics:
    """The server's metrics, registered in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "launchml_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "launchml_request_duration_seconds",
            "Time from the request's arrival to the end of its response.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "launchml_batch_size",
            "Inputs per model call after dynamic batching.",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.predict_seconds = Histogram(
            "launchml_predict_duration_seconds",
            "Time of one batched model call.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "launchml_queue_depth",
            "Inputs waiting for a model call.",
            ["model"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def render(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


__all__ = ["ServeMetrics"]
