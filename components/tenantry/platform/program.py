"""What the platform stack's program needs before it declares anything: the fleet plan,
the model formats and the LLM adapter grants over every tenant file, from one verdict
(pure, no Pulumi)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..aws.names import tenant_names
from ..k8s.llm_inference_service import AdapterGrant, adapter_grants
from ..loaded import program_registry
from ..planner import DemandError, FleetPlan, extract_demands, plan
from ..spec import PlatformSettings, Registry, ResolvedTenant
from ..spec.errors import errors
from ..spec.platform import PREVIOUS_PLAN_KEY
from ..tags import tenant_tags


class PlatformProgramError(ValueError):
    """The tenant registry or the plan is not deployable; names every problem."""


@dataclass(frozen=True)
class PlatformProgram:
    """What the platform stack's program derives from the tenant files, all from one
    verdict (:func:`platform_plan`)."""

    plan: FleetPlan
    """The fleet plan: shared pools and tenant node groups (:func:`fleet_plan_for`)."""
    formats: frozenset[str] | None
    """The model formats the tenants serve (the platform declares the runtimes they need);
    None: not known (:meth:`~tenantry.platform.PlatformArgs.from_spec` without formats)."""
    llm_grants: tuple[AdapterGrant, ...]
    """Every tenant adapter on the platform's shared base models, sorted by tenant, with
    the tenant's bucket as :func:`tenantry.aws.names.tenant_names` names it."""
    tenant_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Each tenant's cost-allocation tags (:func:`tenantry.tags.tenant_tags`), by tenant:
    what the platform declares for one tenant alone (its nodes carved from a shared pool)
    carries them, so AWS cost allocation attributes it to the tenant, not the platform."""


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
    return platform_plan(tenants_dir, settings, previous, stacks_dir).plan


def platform_plan(
    tenants_dir: Path,
    settings: PlatformSettings,
    previous: Path | None = None,
    stacks_dir: Path | None = None,
) -> PlatformProgram:
    """:func:`fleet_plan_for`, the model formats the tenants serve and the tenants' LLM
    adapter grants, from one run of the verdict. Raises :class:`PlatformProgramError`."""
    reg = _verdict(tenants_dir, settings, stacks_dir)
    assert reg.fleet is not None
    fleet: FleetPlan = reg.fleet
    tenants = sorted(reg.tenants.values(), key=lambda t: t.name)
    if previous is not None:
        fleet = _replan(list(reg.tenants.values()), settings, previous)
    buckets = {t.name: tenant_names(t.name, t.region, settings).bucket_name for t in tenants}
    return PlatformProgram(
        plan=fleet,
        formats=frozenset(m.format for t in tenants for m in t.models),
        llm_grants=tuple(adapter_grants(tenants, buckets)),
        tenant_tags={t.name: tenant_tags(t) for t in tenants},
    )


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
