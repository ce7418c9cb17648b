"""What the platform stack's program needs before it declares anything: the fleet plan
over every tenant file (pure, no Pulumi)."""

from __future__ import annotations

import json
from pathlib import Path

from ..aws.names import TenantNames
from ..k8s.llm_inference_service import AdapterGrant, adapter_grants
from ..loaded import program_registry
from ..planner import DemandError, FleetPlan, extract_demands, plan
from ..spec import PlatformSettings, Registry, ResolvedTenant
from ..spec.errors import errors
from ..spec.platform import PREVIOUS_PLAN_KEY


class PlatformProgramError(ValueError):
    """The tenant registry or the plan is not deployable; names every problem."""


def fleet_plan_for(
    tenants_dir: Path,
    settings: PlatformSettings,
    previous: Path | None = None,
    stacks_dir: Path | None = None,
) -> FleetPlan:
    """Plan the shared pools (and tenant node groups) from every tenant file in
    ``tenants_dir``, with the verdict every tenantry command gives
    (:func:`tenantry.pipeline.check`; ``stacks_dir``: where ``Pulumi.platform.yaml`` is,
    for the lines of its problems): the same plan ``tenantry gpu plan`` and ``tenantry
    plan`` show. With ``previous`` (a plan JSON, ``tenantry gpu plan --format json``: what
    the cluster runs now), a minimal-disruption re-plan of it, as ``tenantry gpu plan
    --previous`` and ``tenantry fleet up --previous-plan`` compute it. Raises
    :class:`PlatformProgramError` listing every error."""
    return platform_plan(tenants_dir, settings, previous, stacks_dir)[0]


def platform_plan(
    tenants_dir: Path,
    settings: PlatformSettings,
    previous: Path | None = None,
    stacks_dir: Path | None = None,
) -> tuple[FleetPlan, frozenset[str]]:
    """:func:`fleet_plan_for`, and the model formats the tenants serve (the platform
    declares the serving runtimes they need). Raises :class:`PlatformProgramError`."""
    reg = _verdict(tenants_dir, settings, stacks_dir)
    assert reg.fleet is not None
    fleet: FleetPlan = reg.fleet
    if previous is not None:
        fleet = _replan(list(reg.tenants.values()), settings, previous)
    return fleet, frozenset(m.format for t in reg.tenants.values() for m in t.models)


def _replan(tenants: list[ResolvedTenant], settings: PlatformSettings, previous: Path) -> FleetPlan:
    """The minimal-disruption re-plan of the plan in ``previous``: it may keep GPUs the
    fresh plan (the one validation checked) would free, so it is checked again."""
    try:
        before = FleetPlan.from_dict(json.loads(previous.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PlatformProgramError(
            f"{PREVIOUS_PLAN_KEY} {previous}: not a plan written by "
            f"`tenantry gpu plan --format json` ({exc})"
        ) from exc
    try:
        fleet = plan(extract_demands(tenants, settings), before)
    except DemandError as exc:
        raise PlatformProgramError(f"GPU demand cannot be planned: {exc}") from exc
    if fleet.errors:
        raise PlatformProgramError("the GPU plan has errors: " + "; ".join(fleet.errors))
    return fleet


def llm_grants_for(
    tenants_dir: Path, settings: PlatformSettings, stacks_dir: Path | None = None
) -> list[AdapterGrant]:
    """Every tenant adapter on the platform's shared base models, with the tenant's bucket
    (named as :class:`tenantry.aws.names.TenantNames` names it, default suffix), from the
    same verdict as :func:`fleet_plan_for`. Raises :class:`PlatformProgramError` when a
    tenant file is invalid."""
    reg = _verdict(tenants_dir, settings, stacks_dir)
    tenants = sorted(reg.tenants.values(), key=lambda t: t.name)
    buckets = {
        t.name: TenantNames(t.name, settings.account_id, t.region).bucket_name for t in tenants
    }
    return adapter_grants(tenants, buckets)


def _verdict(tenants_dir: Path, settings: PlatformSettings, stacks_dir: Path | None) -> Registry:
    """The one verdict (:func:`tenantry.pipeline.check`) on ``tenants_dir``, or
    :class:`PlatformProgramError` listing every error."""
    reg = program_registry(tenants_dir, settings, stacks_dir)
    bad = errors(reg.problems)
    if bad:
        raise PlatformProgramError(
            f"{len(bad)} problem(s) in the tenant files under {tenants_dir} or the platform "
            "settings; nothing was declared:\n" + "\n".join(p.render() for p in bad)
        )
    return reg
