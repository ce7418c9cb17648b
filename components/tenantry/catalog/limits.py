"""Limits of the systems Tenantry deploys to, each with its source (pure data).

Validation (:mod:`tenantry.spec.rules`) checks every name and value a tenant file leads to
against these before anything is touched; the components and backends take their limits
from here too, so a limit is stated once. ``docs/limits.md`` lists them for users (a test
keeps it in step with this module).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal


@dataclass(frozen=True)
class NameLimit:
    """What one kind of name may be: at most ``max_length`` characters matching ``pattern``."""

    what: str  # e.g. "EKS managed node group name"
    max_length: int
    pattern: str  # a full-match regular expression
    accepted: str  # the rule in words
    source: str
    min_length: int = 1

    def problems(self, name: str) -> list[str]:
        """Why ``name`` is refused (empty when it is accepted)."""
        out = []
        if len(name) > self.max_length:
            out.append(f"{len(name)} characters, more than {self.max_length}")
        elif len(name) < self.min_length:
            out.append(f"{len(name)} characters, fewer than {self.min_length}")
        if not re.fullmatch(self.pattern, name):
            out.append(f"not {self.accepted}")
        return out


K8S_NAMES: Final = "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/"

DNS1123_LABEL = NameLimit(
    "Kubernetes DNS-1123 label (namespace name, label value part)",
    63,
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?",
    "lower-case letters, digits and '-', starting and ending with a letter or digit",
    f"{K8S_NAMES} (RFC 1123 label; apimachinery IsDNS1123Label)",
)
DNS1035_LABEL = NameLimit(
    "Kubernetes DNS-1035 label (Service, Knative Service and Route names; KServe "
    "InferenceService names)",
    63,
    r"[a-z]([-a-z0-9]*[a-z0-9])?",
    "lower-case letters, digits and '-', starting with a letter and ending with a letter or digit",
    f"{K8S_NAMES} (RFC 1035 label; apimachinery IsDNS1035Label); KServe "
    "inference_service_validation.go IsvcNameFmt",
)
DNS1123_SUBDOMAIN = NameLimit(
    "Kubernetes DNS-1123 subdomain (most object names: ServiceAccount, ConfigMap, "
    "AuthorizationPolicy, EnvoyFilter, ...)",
    253,
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
    "dot-separated lower-case DNS labels",
    f"{K8S_NAMES} (apimachinery IsDNS1123Subdomain)",
)
LABEL_VALUE = NameLimit(
    "Kubernetes label value",
    63,
    r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?",
    "letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/"
    "#syntax-and-character-set",
    min_length=0,
)
S3_BUCKET = NameLimit(
    "S3 general purpose bucket name",
    63,
    r"(?!xn--)(?!sthree-)(?!amzn-s3-demo-)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]*[a-z0-9]"
    r"(?<!-s3alias)(?<!--ol-s3)(?<!\.mrap)(?<!--x-s3)(?<!--table-s3)",
    "3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or "
    "digit, no reserved prefix or suffix, not an IP address",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    min_length=3,
)
IAM_ROLE = NameLimit(
    "IAM role name",
    64,
    r"[\w+=,.@-]+",
    "letters, digits and +=,.@_-",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html "
    "(role name: 64 characters)",
)
IAM_POLICY = NameLimit(
    "IAM managed policy name",
    128,
    r"[\w+=,.@-]+",
    "letters, digits and +=,.@_-",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html "
    "(policy name: 128 characters)",
)
KMS_ALIAS = NameLimit(
    "KMS alias name",
    256,
    r"alias/(?!aws/)[A-Za-z0-9/_-]+",
    "'alias/' then letters, digits, '/', '_' and '-' (not 'alias/aws/')",
    "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html",
)
EKS_NODEGROUP = NameLimit(
    "EKS managed node group name",
    63,
    r"[A-Za-z0-9][A-Za-z0-9_-]*",
    "letters, digits, '-' and '_', starting with a letter or digit",
    "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html; "
    "Pulumi aws.eks.NodeGroup nodeGroupName (at most 63 characters)",
)
EC2_LAUNCH_TEMPLATE = NameLimit(
    "EC2 launch template name",
    128,
    r"[a-zA-Z0-9().\-/_]+",
    "letters, digits and ().-/_",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html",
    min_length=3,
)
RDS_INSTANCE = NameLimit(
    "RDS DB instance identifier",
    63,
    r"[A-Za-z](?!.*--)[A-Za-z0-9-]*(?<!-)",
    "letters, digits and single hyphens, starting with a letter and not ending with '-'",
    "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html "
    "(DBInstanceIdentifier)",
)
POSTGRES_IDENTIFIER = NameLimit(
    "PostgreSQL identifier (schema, role, table, index)",
    63,
    r"[a-z][a-z0-9_]*",
    "a lower-case letter, then lower-case letters, digits and '_'",
    "https://www.postgresql.org/docs/16/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS "
    "(NAMEDATALEN - 1 = 63 bytes; longer names are truncated)",
)


# pgvector ---------------------------------------------------------------------------------

PGVECTOR_TESTED = "0.6.2"  # the version the test suite runs (the pgserver wheel)
VECTOR_MAX_DIMENSIONS: Final = 16000  # pgvector src/vector.h VECTOR_MAX_DIM (0.5-0.8)
Metric = Literal["cosine", "l2", "inner_product"]


@dataclass(frozen=True)
class VectorIndexLimit:
    """How many dimensions one pgvector index method takes on one column type, and the
    operator class of each distance metric."""

    method: str  # "hnsw" | "ivfflat"
    column_type: str  # "vector"
    max_dimensions: int
    opclasses: dict[str, str]  # metric -> operator class
    source: str


VECTOR_INDEXES: Final = {
    ("hnsw", "vector"): VectorIndexLimit(
        "hnsw",
        "vector",
        2000,
        {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "inner_product": "vector_ip_ops"},
        "pgvector src/hnsw.h HNSW_MAX_DIM = 2000 and sql/vector.sql operator classes "
        "(v0.6.2, unchanged through v0.8); README 'HNSW: vector - up to 2,000 dimensions'",
    ),
    ("ivfflat", "vector"): VectorIndexLimit(
        "ivfflat",
        "vector",
        2000,
        {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "inner_product": "vector_ip_ops"},
        "pgvector src/ivfflat.h IVFFLAT_MAX_DIM = 2000 (v0.6.2 through v0.8)",
    ),
}
# What the pgvector backend builds for every vector namespace (tenantry.data.pgvector).
VECTOR_INDEX: Final = VECTOR_INDEXES[("hnsw", "vector")]
