"""``CostAllocationTags``: activation of the tag policy's keys in the billing data
(``tenantry:platform:CostAllocationTags``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..spec.platform import CostAllocationTagSettings
from ..tags import MANDATORY_KEYS

COST_EXPLORER_REGION = "us-east-1"  # the Cost Explorer API's one endpoint (ce.us-east-1)


@dataclass(frozen=True, kw_only=True)
class CostAllocationTagsArgs:
    """``settings``: the platform settings' ``costAllocationTags`` (whether to activate, and
    the payer account's role). ``keys``: the tag keys (default: the tag policy's mandatory
    keys)."""

    settings: CostAllocationTagSettings
    keys: Sequence[str] = MANDATORY_KEYS


class CostAllocationTags(pulumi.ComponentResource):
    """Activates every mandatory tag key (:data:`tenantry.tags.MANDATORY_KEYS`) as a
    cost-allocation tag, so Cost Explorer and the cost and usage report can group by tenant,
    cost center, tier and environment, when ``settings.activate`` says so.

    AWS lets only the organization's management (payer) account, or an account in no
    organization, activate cost-allocation tags ("Using user-defined cost allocation tags",
    AWS Billing User Guide); :class:`~tenantry.spec.platform.PlatformSettings` refuses an
    activation from a member account before anything is declared. Creates:

    - ``activate: false`` (default): nothing; ``activated`` is false and ``keys`` lists what
      the payer account's team activates (Billing and Cost Management console, Cost
      allocation tags).
    - ``activate: true``: ``<name>-<key>`` (``aws.costexplorer.CostAllocationTag``, status
      ``Active``) per key, through the stack's own provider (the platform deploys into the
      payer account), or through ``<name>-payer`` (``aws.Provider`` assuming
      ``payerRoleArn`` in the payer account, session ``tenantry-cost-allocation-tags``).

    AWS accepts a key only after it has appeared on a resource's billing data, up to 24 hours
    after the first tagged resource (Pulumi AWS provider docs, ``CostAllocationTag``): turn
    ``activate`` on in a later run than the first ``pulumi up`` of a new account.
    """

    TYPE = "tenantry:platform:CostAllocationTags"

    def __init__(
        self, name: str, args: CostAllocationTagsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        settings, keys = args.settings, args.keys
        self.activated = settings.activate
        self.tags: list[aws.costexplorer.CostAllocationTag] = []
        if settings.activate:
            tag_opts = pulumi.ResourceOptions(parent=self)
            if settings.payer_role_arn:
                payer = aws.Provider(
                    f"{name}-payer",
                    region=COST_EXPLORER_REGION,
                    assume_roles=[
                        aws.ProviderAssumeRoleArgs(
                            role_arn=settings.payer_role_arn,
                            session_name="tenantry-cost-allocation-tags",
                        )
                    ],
                    opts=pulumi.ResourceOptions(parent=self),
                )
                tag_opts = pulumi.ResourceOptions(parent=self, provider=payer)
            self.tags = [
                aws.costexplorer.CostAllocationTag(
                    f"{name}-{key}", tag_key=key, status="Active", opts=tag_opts
                )
                for key in keys
            ]
        self.register_outputs({"keys": list(keys), "activated": settings.activate})
