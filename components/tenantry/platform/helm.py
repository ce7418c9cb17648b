"""One way to declare a pinned Helm chart as a release (``helm.sh/v3:Release``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs

from .charts import Chart


def helm_release(
    name: str,
    chart: Chart,
    values: Mapping[str, Any],
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    timeout: int = 600,
) -> Release:
    """``chart`` at its pinned version as release ``chart.release`` in ``chart.namespace``
    (which must exist: never created by Helm), atomic (rolled back when it fails);
    ``repository_opts`` only for a chart from a repository (an ``oci://`` chart has none)."""
    return Release(
        name,
        name=chart.release,
        chart=chart.chart,
        version=chart.version,
        repository_opts=RepositoryOptsArgs(repo=chart.repo) if chart.repo else None,
        namespace=chart.namespace,
        create_namespace=False,
        atomic=True,
        timeout=timeout,
        values=dict(values),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
