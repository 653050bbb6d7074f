"""Prometheus metrics shared by every service (one process = one service)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "tandem_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "tandem_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
CONSUMED = Counter(
    "tandem_messages_consumed_total",
    "Messages taken from a topic, by outcome",
    ["service", "topic", "outcome"],
)
CONSUMER_LAG = Gauge(
    "tandem_consumer_lag",
    "Messages behind the partition's high watermark",
    ["service", "topic", "partition"],
)
DLQ_MESSAGES = Counter(
    "tandem_dlq_messages_total", "Messages sent to a dead-letter topic", ["service", "topic"]
)
OUTBOX_PUBLISHED = Counter(
    "tandem_outbox_published_total", "Outbox rows published", ["service", "topic"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "tandem_outbox_oldest_unsent_seconds", "Age of the oldest unsent outbox row", ["service"]
)
OUTBOX_PENDING = Gauge("tandem_outbox_pending", "Unsent outbox rows", ["service"])
CONSUMER_HELD = Gauge(
    "tandem_consumer_held_partitions",
    "Partitions a consumer group holds back while the database or broker is failing",
    ["service", "group"],
)
READY = Gauge(
    "tandem_ready",
    "1 when the check passes (what /readyz answers), 0 when not",
    ["service", "check"],
)
