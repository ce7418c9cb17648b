"""How a tenant's inference pods get AWS credentials: one type for the AWS side (trust
policy, Pod Identity association) and the Kubernetes side (service account annotation).
Pure: no Pulumi.

- EKS Pod Identity (default, AWS's recommendation for code on EKS: "use Amazon EKS Pod
  Identities", https://docs.aws.amazon.com/sdkref/latest/guide/access.html): the role trusts
  ``pods.eks.amazonaws.com`` and an association binds it to the tenant's service account.
- IRSA (IAM roles for service accounts): the role trusts the cluster's OIDC provider and the
  service account carries the ``eks.amazonaws.com/role-arn`` annotation
  (https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html).
"""

from dataclasses import dataclass
from enum import StrEnum


class IdentityMode(StrEnum):
    """How inference pods get AWS credentials."""

    POD_IDENTITY = "pod-identity"
    """EKS Pod Identity: an association per service account, no OIDC provider."""
    IRSA = "irsa"
    """IAM roles for service accounts, through the cluster's OIDC provider."""


ACCEPTED_MODES = ", ".join(repr(m.value) for m in IdentityMode)


@dataclass(frozen=True, kw_only=True)
class Identity:
    """How the tenant's inference pods get AWS credentials.

    ``mode``: :class:`IdentityMode` (its value, ``"pod-identity"`` or ``"irsa"``, is accepted
    too). IRSA needs ``oidc_provider_arn`` (``arn:aws:iam::<account>:oidc-provider/...``) and
    ``oidc_issuer`` (``https://oidc.eks.<region>.amazonaws.com/id/<id>``); Pod Identity takes
    neither. Raises ``ValueError`` naming the field otherwise (that the issuer belongs to the
    provider is checked where the trust policy is written,
    :func:`tenantry.aws.tenant_policies.irsa_trust`)."""

    # ``None`` (not the enum member) as the default: Pulumi's schema inference for components
    # marks a field optional only when its annotation is Optional, so a defaulted plain field
    # would be *required* for callers in other languages. ``__post_init__`` sets the member.
    mode: IdentityMode | None = None
    """``pod-identity`` (default) or ``irsa``."""
    oidc_provider_arn: str | None = None
    """IRSA only: the ARN of the cluster's IAM OIDC provider."""
    oidc_issuer: str | None = None
    """IRSA only: the cluster's OIDC issuer URL (https://oidc.eks.<region>.amazonaws.com/id/...)."""

    def __post_init__(self) -> None:
        try:
            mode = IdentityMode.POD_IDENTITY if self.mode is None else IdentityMode(self.mode)
        except ValueError:
            raise ValueError(
                f"identity.mode: {self.mode!r} is not accepted; accepted: {ACCEPTED_MODES}"
            ) from None
        object.__setattr__(self, "mode", mode)
        oidc = {"oidc_provider_arn": self.oidc_provider_arn, "oidc_issuer": self.oidc_issuer}
        if mode is IdentityMode.IRSA:
            missing = [k for k, v in oidc.items() if not v]
            if missing:
                raise ValueError(
                    f"identity.{missing[0]}: required when identity.mode is 'irsa' "
                    "(IRSA trusts the cluster's OIDC provider)"
                )
        else:
            given = [k for k, v in oidc.items() if v is not None]
            if given:
                raise ValueError(
                    f"identity.{given[0]}: only accepted when identity.mode is 'irsa' "
                    "(EKS Pod Identity needs no OIDC provider)"
                )

    @classmethod
    def pod_identity(cls) -> "Identity":
        """EKS Pod Identity (the default)."""
        return cls()

    @classmethod
    def irsa(cls, *, oidc_provider_arn: str, oidc_issuer: str) -> "Identity":
        """IRSA through the cluster's OIDC provider."""
        return cls(
            mode=IdentityMode.IRSA, oidc_provider_arn=oidc_provider_arn, oidc_issuer=oidc_issuer
        )

    @property
    def is_irsa(self) -> bool:
        return self.mode is IdentityMode.IRSA


POD_IDENTITY = Identity()
