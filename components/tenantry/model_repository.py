"""A model revision's ``config.pbtxt`` declared in the tenant's model repository bucket, so
the deployed repository always matches the tenant file."""

from __future__ import annotations

import warnings

import pulumi

with warnings.catch_warnings():
    # Importing pulumi_aws.s3 warns about *other*, deprecated resources (the ...V2 aliases);
    # BucketObjectv2 itself is current.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pulumi_aws.s3 import BucketObjectv2

from .spec import ResolvedModel, ResolvedTenant
from .tags import tenant_tags
from .triton import config_key, model_config, serving_caps


def triton_model_config(
    name: str,
    tenant: ResolvedTenant,
    model: ResolvedModel,
    version: str,
    *,
    bucket_name: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> BucketObjectv2:
    """Declares one ``aws:s3/bucketObjectv2:BucketObjectv2`` ``<name>-object`` in
    ``bucket_name`` at ``models/<model>/v<version>/<model>/config.pbtxt`` whose content is the
    generated Triton configuration (:func:`tenantry.triton.model_config`), tagged with the
    tag policy, with ``opts`` (its parent: the caller's component).

    Encryption: the bucket's default encryption (the tenant's KMS key, set on the AWS side);
    pass ``kms_key_arn`` to name the key on the object as well. The weights under
    ``<model>/<version>/`` are uploaded by the tenant's CI, not here.

    A function, not a component: one object needs no grouping of its own, and every
    component costs the engine a registration and an outputs registration per plan.
    """
    encryption = (
        {"server_side_encryption": "aws:kms", "kms_key_id": kms_key_arn}
        if kms_key_arn is not None
        else {}
    )
    return BucketObjectv2(
        f"{name}-object",
        bucket=bucket_name,
        key=config_key(model.name, version),
        content=model_config(model, tenant.tier, serving_caps(tenant), version, tenant.name),
        content_type="text/plain; charset=utf-8",
        tags=tenant_tags(tenant),
        opts=opts,
        **encryption,
    )
