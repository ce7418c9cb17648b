"""Service-level objectives per model and their multi-window, multi-burn-rate alerts (pure).

Two SLOs per model, both over a 30-day window:

- **availability**: the share of requests answered without a server error (HTTP 5xx or a
  gRPC server-side status), requests refused by the tenant's own rate limit excluded; the
  objective is the tier's (:attr:`tenantry.spec.tiers.TierPolicy.availability_objective`);
- **latency**: the share of requests answered within the model's ``p99LatencyMs``; the
  objective is 0.99 (that is what a p99 target means).

Alerts follow the Google SRE Workbook, chapter 5 "Alerting on SLOs", approach 6
("Multiwindow, multi-burn-rate alerts") and its recommended parameters for a 30-day SLO: page
when 2% of the error budget burns in 1 hour (burn rate 14.4, short window 5 minutes) or 5%
in 6 hours (burn rate 6, short window 30 minutes); open a ticket when 10% burns in 3 days
(burn rate 1, short window 6 hours) or at burn rate 3 over 1 day (short window 2 hours). The
long window makes an alert significant, the short one (1/12 of it) resets it quickly once the
burn stops. The workbook's alerts have no ``for:`` clause; neither do these.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec import ResolvedModel, ResolvedTenant

SLO_PERIOD_DAYS = 30
LATENCY_OBJECTIVE = 0.99  # p99LatencyMs: 99% of requests at or under it


@dataclass(frozen=True)
class BurnRateWindow:
    """One row of the workbook's table: alert when the error ratio over both ``long`` and
    ``short`` exceeds ``burn_rate`` x the error budget (1 - objective)."""

    severity: str  # "page" | "ticket"
    long: str
    short: str
    burn_rate: float
    budget_share: str  # how much of the 30-day budget burns in the long window at that rate


BURN_RATE_WINDOWS = (
    BurnRateWindow("page", "1h", "5m", 14.4, "2%"),
    BurnRateWindow("page", "6h", "30m", 6.0, "5%"),
    BurnRateWindow("ticket", "1d", "2h", 3.0, "10%"),
    BurnRateWindow("ticket", "3d", "6h", 1.0, "10%"),
)
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")  # every window an alert reads


@dataclass(frozen=True)
class Slo:
    """One objective of one model: ``sli`` is ``availability`` or ``latency``; ``objective``
    the target good ratio; ``threshold_ms`` the latency bound (latency SLOs)."""

    tenant: str
    model: str
    sli: str
    objective: float
    threshold_ms: float | None = None

    @property
    def error_budget(self) -> float:
        return 1.0 - self.objective

    def describe(self) -> str:
        if self.sli == "latency":
            return f"{self.objective:.2%} of requests within {self.threshold_ms:g} ms"
        return f"{self.objective:.2%} of requests without a server error"


def model_slos(t: ResolvedTenant, m: ResolvedModel) -> tuple[Slo, Slo]:
    """The availability and latency SLOs of one model, from its tier and tenant file."""
    return (
        Slo(t.name, m.name, "availability", t.tier.availability_objective),
        Slo(t.name, m.name, "latency", LATENCY_OBJECTIVE, m.p99_latency_ms),
    )
