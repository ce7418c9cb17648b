"""What the platform stack's program needs before it declares anything: the fleet plan
over every tenant file (pure, no Pulumi)."""

from __future__ import annotations

import json
from pathlib import Path

from ..aws.names import TenantNames
from ..k8s.llm_inference_service import AdapterGrant, adapter_grants
from ..planner import DemandError, FleetPlan, extract_demands, plan
from ..spec import PlatformSettings, load_registry
from ..spec.errors import errors
from ..spec.platform import PREVIOUS_PLAN_KEY


class PlatformProgramError(ValueError):
    """The tenant registry or the plan is not deployable; names every problem."""


def fleet_plan_for(
    tenants_dir: Path, settings: PlatformSettings, previous: Path | None = None
) -> FleetPlan:
    """Plan the shared pools (and tenant node groups) from every tenant file in
    ``tenants_dir``: the same plan ``tenantry gpu plan`` and ``tenantry plan`` show. With
    ``previous`` (a plan JSON, ``tenantry gpu plan --json``: what the cluster runs now), a
    minimal-disruption re-plan of it, as ``tenantry gpu plan --previous`` and ``tenantry
    fleet up --previous-plan`` compute it."""
    reg = load_registry([tenants_dir], settings)
    bad = errors(reg.problems)
    if bad:
        raise PlatformProgramError(
            f"{len(bad)} problem(s) in the tenant files under {tenants_dir}; nothing was "
            "declared:\n" + "\n".join(p.render() for p in bad)
        )
    before = None
    if previous is not None:
        try:
            before = FleetPlan.from_dict(json.loads(previous.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PlatformProgramError(
                f"{PREVIOUS_PLAN_KEY} {previous}: not a plan written by "
                f"`tenantry gpu plan --json` ({exc})"
            ) from exc
    try:
        fleet = plan(extract_demands(list(reg.tenants.values()), settings), before)
    except DemandError as exc:
        raise PlatformProgramError(f"GPU demand cannot be planned: {exc}") from exc
    if fleet.errors:
        raise PlatformProgramError("the GPU plan has errors: " + "; ".join(fleet.errors))
    return fleet


def llm_grants_for(tenants_dir: Path, settings: PlatformSettings) -> list[AdapterGrant]:
    """Every tenant adapter on the platform's shared base models, with the tenant's bucket
    (named as :class:`tenantry.aws.names.TenantNames` names it, default suffix). Raises
    :class:`PlatformProgramError` when a tenant file is invalid."""
    reg = load_registry([tenants_dir], settings)
    bad = errors(reg.problems)
    if bad:
        raise PlatformProgramError(
            f"{len(bad)} problem(s) in the tenant files under {tenants_dir}; nothing was "
            "declared:\n" + "\n".join(p.render() for p in bad)
        )
    tenants = sorted(reg.tenants.values(), key=lambda t: t.name)
    buckets = {
        t.name: TenantNames(t.name, settings.account_id, t.region).bucket_name for t in tenants
    }
    return adapter_grants(tenants, buckets)
