"""Triton model configuration (pure, no Pulumi): ``config.pbtxt`` text, per-model serving caps
and the model repository layout in the tenant's bucket."""

from ..triton_admin import ADMIN_APIS, ADMIN_SECRET, admin_args, admin_key
from .caps import ServingCaps, serving_caps
from .config import (
    BACKEND_BY_FORMAT,
    DEVICE_RESOURCE,
    ConfigError,
    WarmupSample,
    batching_settings,
    model_config,
    warmup_samples,
)
from .repository import (
    bucket_versions,
    config_key,
    deployed_prefixes,
    revision_prefix,
    served_version,
    storage_uri,
    storage_uri_of,
    versions,
)

__all__ = [
    "ADMIN_APIS",
    "ADMIN_SECRET",
    "BACKEND_BY_FORMAT",
    "DEVICE_RESOURCE",
    "ConfigError",
    "ServingCaps",
    "WarmupSample",
    "admin_args",
    "admin_key",
    "batching_settings",
    "bucket_versions",
    "config_key",
    "deployed_prefixes",
    "model_config",
    "revision_prefix",
    "served_version",
    "serving_caps",
    "storage_uri",
    "storage_uri_of",
    "versions",
    "warmup_samples",
]
