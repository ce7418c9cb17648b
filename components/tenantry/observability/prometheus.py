"""A small client for Prometheus's HTTP API (instant queries only), with errors that say
which server, which query and what went wrong. Standard library only.

API: ``GET /api/v1/query?query=<expr>&time=<unix seconds>`` answers
``{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {...},
"value": [<time>, "<value>"]}]}}`` or ``{"status": "error", "errorType": ..., "error": ...}``
(Prometheus docs, "HTTP API").
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or refused a query."""


def duration_seconds(text: str) -> float:
    """A Prometheus duration with one unit (``30s``, ``5m``, ``30d``) in seconds; raises
    ValueError naming what is accepted."""
    m = _DURATION.match(text.strip())
    if m is None or int(m[1]) == 0:
        raise ValueError(
            f"{text!r} is not a duration; accepted: a positive integer and one unit of "
            "ms, s, m, h, d, w, y (e.g. 5m, 30d)"
        )
    return int(m[1]) * _UNIT_SECONDS[m[2]]


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class PrometheusClient:
    """Instant queries against one Prometheus (``url``: ``http://host:port``, optionally with
    a path prefix)."""

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(
                f"--prometheus {url!r}: accepted is an http(s) URL such as "
                "http://prometheus.monitoring:9090"
            )
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, params: dict[str, str]) -> Any:
        full = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(full, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                body = json.loads(exc.read())
                detail = f"{body.get('errorType')}: {body.get('error')}"
            except (ValueError, AttributeError):
                detail = str(exc)
            raise PrometheusError(
                f"Prometheus at {self.url} refused {params.get('query', path)!r}: {detail}"
            ) from exc
        except (OSError, ValueError) as exc:
            raise PrometheusError(f"cannot query Prometheus at {self.url}: {exc}") from exc

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """An instant query; the result must be a vector (every series' labels and value;
        ``NaN`` stays NaN)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        doc = self._get("/api/v1/query", params)
        if doc.get("status") != "success":
            raise PrometheusError(
                f"Prometheus at {self.url} refused {expr!r}: "
                f"{doc.get('errorType')}: {doc.get('error')}"
            )
        data = doc["data"]
        if data["resultType"] != "vector":
            raise PrometheusError(f"{expr!r} gave a {data['resultType']}, not a vector")
        return [Sample(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]

    def rule_group_intervals(self) -> dict[str, float]:
        """Every loaded rule group's evaluation interval in seconds, by group name
        (``GET /api/v1/rules``)."""
        doc = self._get("/api/v1/rules", {})
        if doc.get("status") != "success":
            raise PrometheusError(f"Prometheus at {self.url} refused /api/v1/rules: {doc}")
        return {g["name"]: float(g["interval"]) for g in doc["data"]["groups"]}

    def scalar(self, expr: str, at: float | None = None) -> float:
        """The one value of a query that yields one series (NaN when it yields none)."""
        samples = self.query(expr, at)
        return samples[0].value if samples else math.nan
