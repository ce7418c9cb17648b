"""Guardrails: one rule set, run offline by ``tenantry plan`` and by CrossGuard."""

from .resources import Context, PolicyResource, Violation
from .rules import RULES, Rule, evaluate

__all__ = ["RULES", "Context", "PolicyResource", "Rule", "Violation", "evaluate"]
