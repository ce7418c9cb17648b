"""Entry point of the CrossGuard pack:
`pulumi preview --policy-pack components/tenantry/policy/pack`. Pass every tenant's name
for the cross-tenant ARN rule with `--policy-pack-config` (see docs/previews.md)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # components/: the source root

from pulumi_policy import PolicyPack

from tenantry.policy.crossguard import policies

PolicyPack(name="tenantry", policies=policies())
