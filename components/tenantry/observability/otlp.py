"""Send cost events to an OpenTelemetry collector as OTLP/HTTP log records (JSON encoding),
standard library only.

OTLP/HTTP (opentelemetry-proto, ``docs/specification.md``, "OTLP/HTTP"): ``POST
<endpoint>/v1/logs`` with ``Content-Type: application/json`` and an
``ExportLogsServiceRequest`` in the protobuf JSON mapping (64-bit integers as strings,
enums as numbers, ``AnyValue`` as ``{"stringValue": ...}``). One log record per event: the
body is the event's JSON line (the collector's ``awss3`` exporter with ``marshaler: body``
writes exactly that), and tenant, model, version and event id are attributes, so a
collector can route or filter on them without parsing the body.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from .events import CostEvent

SERVICE_NAME = "tenantry-cost-events"
SCOPE = "tenantry.observability.events"
SEVERITY_INFO = 9  # SeverityNumber SEVERITY_NUMBER_INFO


class OtlpError(RuntimeError):
    """The collector could not be reached or refused the export."""


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def logs_request(events: Sequence[CostEvent], *, now_ns: int | None = None) -> dict[str, Any]:
    """The ``ExportLogsServiceRequest`` (JSON mapping) carrying ``events``."""
    observed = str(now_ns if now_ns is not None else time.time_ns())
    records = []
    for e in events:
        end = e.window_end.replace("Z", "+00:00")
        ts = int(dt.datetime.fromisoformat(end).timestamp()) * 1_000_000_000
        records.append(
            {
                "timeUnixNano": str(ts),
                "observedTimeUnixNano": observed,
                "severityNumber": SEVERITY_INFO,
                "severityText": "INFO",
                "body": {"stringValue": e.model_dump_json(by_alias=True)},
                "attributes": [
                    _attr("tenant", e.tenant),
                    _attr("cost_center", e.cost_center),
                    _attr("model", e.model),
                    _attr("version", e.version),
                    _attr("event_id", e.event_id),
                ],
            }
        )
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [_attr("service.name", SERVICE_NAME)]},
                "scopeLogs": [{"scope": {"name": SCOPE}, "logRecords": records}],
            }
        ]
    }


def export(endpoint: str, events: Sequence[CostEvent], *, timeout: float = 30.0) -> None:
    """POST the events to ``<endpoint>/v1/logs``; raises :class:`OtlpError` with the
    collector's answer on failure."""
    if not events:
        return
    url = endpoint.rstrip("/") + "/v1/logs"
    body = json.dumps(logs_request(events)).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode("utf-8", "replace")
        raise OtlpError(f"the collector at {url} refused the export: {exc.code} {detail}") from exc
    except OSError as exc:
        raise OtlpError(f"cannot reach the collector at {url}: {exc}") from exc
