"""Run inside the policy pack's environment (.venv-policy): feed resources (JSON on stdin)
through the CrossGuard policies and print the violations they report (JSON on stdout)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "components"))

from pulumi_policy import StackValidationArgs
from pulumi_policy.policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
)

from tenantry.policy.crossguard import policies

payload = json.load(sys.stdin)
opts = PolicyResourceOptions(False, [], False, [], PolicyCustomTimeouts(0, 0, 0), [])


def provider(urn):
    """The resource's provider as CrossGuard passes it (None: not known)."""
    if not urn or urn == "default":
        return None
    return PolicyProviderResource(
        urn.split("::")[2].rsplit("$", 1)[-1], {}, urn, urn.split("::")[-1]
    )


resources = [
    PolicyResource(
        r["type"],
        r["props"],
        f"urn:pulumi:s::p::{r['type']}::{r['name']}",
        r["name"],
        opts,
        provider(r.get("provider")),
        None,
        [],
        {},
    )
    for r in payload["resources"]
]
out = []
for policy in policies():

    def report(message, urn=None, name=policy.name):
        out.append({"policy": name, "message": message, "urn": urn})

    policy.validate(StackValidationArgs(resources, {"tenants": payload["tenants"]}), report)
json.dump(out, sys.stdout)
