"""Where a model revision lives in the tenant's model repository bucket (pure).

Each revision (the stable ``version`` and, while a canary runs, ``canary.version``) is its own
one-model Triton model repository::

    s3://<bucket>/models/<model>/v<version>/            <- the InferenceService's storageUri
        <model>/config.pbtxt                            <- declared by triton_model_config()
        <model>/<version>/<weights>                     <- uploaded by the tenant's CI

KServe downloads ``storageUri`` to ``/mnt/models`` and starts Triton with that directory as its
model repository, so the repository root must contain the model *directory*. Giving each
revision its own prefix means the stable revision keeps its files (and its config) while the
canary revision gets a new config, and a restarted stable pod never picks up canary weights.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..spec import ResolvedModel

MODELS_PREFIX = "models"


def revision_prefix(model: str, version: str) -> str:
    return f"{MODELS_PREFIX}/{model}/v{version}"


def config_key(model: str, version: str) -> str:
    """Object key of the revision's ``config.pbtxt``."""
    return f"{revision_prefix(model, version)}/{model}/config.pbtxt"


def storage_uri(bucket: str, model: str, version: str) -> str:
    return f"s3://{bucket}/{revision_prefix(model, version)}"


def versions(m: ResolvedModel) -> tuple[str, ...]:
    """Every revision that must exist in the repository: stable first, then the canary."""
    return (m.version, m.canary.version) if m.canary else (m.version,)


def served_version(m: ResolvedModel) -> str:
    """The revision the InferenceService spec declares. KServe canary rollouts work by declaring
    the new revision plus ``canaryTrafficPercent``; the previous (stable) revision keeps the rest
    of the traffic until the canary is promoted."""
    return m.canary.version if m.canary else m.version


def bucket_versions(m: ResolvedModel) -> tuple[str, ...]:
    """The revisions served from the bucket: all but those pinned to an OCI image."""
    return tuple(v for v in versions(m) if (a := m.artifact_of(v)) is None or a.image is None)


def deployed_prefixes(models: Iterable[ResolvedModel]) -> tuple[str, ...]:
    """``models/<model>/v<version>/`` of every revision the tenant file deploys from the
    bucket (stable and canary): the prefixes the bucket policy keeps write-once."""
    return tuple(f"{revision_prefix(m.name, v)}/" for m in models for v in bucket_versions(m))


def storage_uri_of(m: ResolvedModel, bucket: str, version: str) -> str:
    """``oci://<image>`` for a revision pinned to an OCI image (KServe modelcar), else its
    bucket prefix."""
    a = m.artifact_of(version)
    if a is not None and a.image is not None:
        return f"oci://{a.image}"
    return storage_uri(bucket, m.name, version)
