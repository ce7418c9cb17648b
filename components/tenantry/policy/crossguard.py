"""The guardrail rules as a Pulumi CrossGuard policy pack (needs ``pulumi-policy``, which runs
in the pack's own environment: see ``pack/``). Same rules as the offline runner, one
``StackValidationPolicy`` each, MANDATORY by default."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .resources import Context, PolicyResource
from .rules import RULES, Rule

CONFIG_SCHEMA = {
    "tenants": {
        "type": "array",
        "items": {"type": "string"},
        "description": "every tenant's name (for cross-tenant ARN checks)",
    }
}


def to_policy_resources(resources: Sequence[Any]) -> list[PolicyResource]:
    """pulumi_policy PolicyResources -> ours (props copied into plain dicts; the provider by
    its URN, which names a default provider ``default...``)."""
    return [
        PolicyResource(
            r.resource_type,
            r.name,
            _plain(r.props),
            r.urn,
            str(getattr(getattr(r, "provider", None), "urn", "") or ""),
        )
        for r in resources
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _policy(rule: Rule) -> Any:
    from pulumi_policy import EnforcementLevel, PolicyConfigSchema, StackValidationPolicy

    def validate(args: Any, report_violation: Any) -> None:
        resources = to_policy_resources(args.resources)
        urns = {f"{r.type} {r.name}": r.urn for r in resources}
        ctx = Context(tenants=frozenset(args.get_config().get("tenants", [])))
        for v in rule.check(resources, ctx):
            report_violation(f"{v.resource}: {v.message}", urns.get(v.resource))

    return StackValidationPolicy(
        name=f"tenantry-{rule.name}",
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties=dict(CONFIG_SCHEMA)),
    )


def policies() -> list[Any]:
    return [_policy(rule) for rule in RULES]
