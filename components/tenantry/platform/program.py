"""What the platform stack's program needs before it declares anything: the fleet plan
over every tenant file (pure, no Pulumi)."""

from __future__ import annotations

from pathlib import Path

from ..planner import DemandError, FleetPlan, extract_demands, plan
from ..spec import PlatformSettings, load_registry
from ..spec.errors import errors


class PlatformProgramError(ValueError):
    """The tenant registry or the plan is not deployable; names every problem."""


def fleet_plan_for(tenants_dir: Path, settings: PlatformSettings) -> FleetPlan:
    """Plan the shared pools (and tenant node groups) from every tenant file in
    ``tenants_dir``: the same plan ``tenantry gpu plan`` and ``tenantry plan`` show."""
    reg = load_registry([tenants_dir], settings)
    bad = errors(reg.problems)
    if bad:
        raise PlatformProgramError(
            f"{len(bad)} problem(s) in the tenant files under {tenants_dir}; nothing was "
            "declared:\n" + "\n".join(p.render() for p in bad)
        )
    try:
        fleet = plan(extract_demands(list(reg.tenants.values()), settings))
    except DemandError as exc:
        raise PlatformProgramError(f"GPU demand cannot be planned: {exc}") from exc
    if fleet.errors:
        raise PlatformProgramError("the GPU plan has errors: " + "; ".join(fleet.errors))
    return fleet
