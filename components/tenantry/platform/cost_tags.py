"""``CostAllocationTags``: activation of the tag policy's keys in the billing data
(``tenantry:platform:CostAllocationTags``)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from ..tags import MANDATORY_KEYS


class CostAllocationTags(pulumi.ComponentResource):
    """Creates ``<name>-<key>`` (``aws.costexplorer.CostAllocationTag``, status ``Active``)
    for every mandatory tag key (:data:`tenantry.tags.MANDATORY_KEYS`), so Cost Explorer
    and the cost and usage report can group by tenant, cost center, tier and environment.
    Run it in the payer (management) account's credentials; AWS accepts a key only after it
    has appeared on a resource (up to 24 hours after the first tagged resource)."""

    TYPE = "tenantry:platform:CostAllocationTags"

    def __init__(
        self,
        name: str,
        *,
        keys: Sequence[str] = MANDATORY_KEYS,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        self.tags = [
            aws.costexplorer.CostAllocationTag(
                f"{name}-{key}",
                tag_key=key,
                status="Active",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key in keys
        ]
        self.register_outputs({"keys": list(keys)})
