"""Fixtures for the AWS components: example tenants and their recorded mock programs."""

from __future__ import annotations

import warnings

import pytest

# Third-party import-time warnings, silenced once here so that the project's -W error policy
# fails only on warnings from our code: pulumi_aws's lazily loaded modules warn about their
# own deprecated V2 aliases (DeprecationWarning) when first touched, and parliament 1.6.4
# leaves its data files open at import (ResourceWarning) and imports setuptools'
# pkg_resources, which warns that it is deprecated (UserWarning, setuptools 67.5 to 80).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", ResourceWarning)
    warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
    import parliament  # noqa: F401
    import pulumi_aws

    # touching a class makes the lazy module load now
    _ = (
        pulumi_aws.ec2.LaunchTemplate,
        pulumi_aws.eks.NodeGroup,
        pulumi_aws.iam.Role,
        pulumi_aws.kms.Key,
        pulumi_aws.s3.Bucket,
        pulumi_aws.Provider,
    )

from tenantry.spec import ResolvedTenant

from .mocks import Recording, example_tenants, record


@pytest.fixture(scope="session")
def tenants() -> dict[str, ResolvedTenant]:
    return example_tenants()


@pytest.fixture(scope="session")
def recordings(tenants: dict[str, ResolvedTenant]) -> dict[str, Recording]:
    """Every example tenant's ``TenantAws`` program, recorded once per session."""
    return {name: record(t) for name, t in sorted(tenants.items())}
