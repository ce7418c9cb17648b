"""Declaring a custom resource from its plain manifest (the one shape every builder of
Tenantry returns: ``apiVersion``, ``kind``, ``metadata``, ``spec``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource


def custom_resource(
    name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> CustomResource:
    """The ``CustomResource`` ``name`` declaring ``manifest`` (its ``apiVersion``, ``kind``,
    ``metadata`` and ``spec``; KeyError when one is missing)."""
    return CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )
