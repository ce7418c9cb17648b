"""tenantry.observability is pure: its builders load and run without Pulumi (the CLI, the
planner's users and the tests use them without a Pulumi program)."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "signals",
    "slo",
    "monitor",
    "rules",
    "dashboards",
    "events",
    "usage",
    "showback",
    "prometheus",
    "otlp",
    "delivery",
]


def test_observability_never_imports_pulumi() -> None:
    imports = "; ".join(f"import tenantry.observability.{m}" for m in MODULES)
    code = (
        f"import sys; {imports}; "
        "bad = sorted(m for m in sys.modules if m == 'pulumi' or m.startswith('pulumi'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_published_cost_event_schema_is_the_codes() -> None:
    """docs/cost-event.schema.json is what consumers validate against: it must be exactly
    :func:`event_schema` (regenerate with ``json.dumps(event_schema(), indent=2,
    sort_keys=True)``)."""
    import json

    from tenantry.observability.events import event_schema
    from tests.conftest import ROOT

    published = (ROOT / "docs" / "cost-event.schema.json").read_text("utf-8")
    assert published == json.dumps(event_schema(), indent=2, sort_keys=True) + "\n"
