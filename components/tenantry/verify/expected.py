"""What a served model must look like: the signature from the tenant file and the queueing
fields of the config.pbtxt Tenantry generated for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format, text_format

from ..spec import ResolvedModel


@dataclass(frozen=True)
class QueueingSettings:
    """The served-config fields that carry Tenantry's fair-queuing settings."""

    max_batch_size: int
    priority_levels: int
    default_priority_level: int
    max_queue_size: int
    timeout_action: str
    default_timeout_microseconds: int
    allow_timeout_override: bool


def _model_config_class() -> Any:
    from tritonclient.grpc import model_config_pb2

    return model_config_pb2.ModelConfig


def _settings(cfg: Any) -> QueueingSettings:
    db = cfg.dynamic_batching
    qp = db.default_queue_policy
    action = type(qp).TimeoutAction.Name(qp.timeout_action)
    return QueueingSettings(
        max_batch_size=cfg.max_batch_size,
        priority_levels=db.priority_levels,
        default_priority_level=db.default_priority_level,
        max_queue_size=qp.max_queue_size,
        timeout_action=action,
        default_timeout_microseconds=qp.default_timeout_microseconds,
        allow_timeout_override=qp.allow_timeout_override,
    )


def settings_from_pbtxt(text: str) -> QueueingSettings:
    """Parse a generated ``config.pbtxt`` (protobuf text format, Triton's ModelConfig)."""
    return _settings(text_format.Parse(text, _model_config_class()()))


def settings_from_served(config: dict[str, Any]) -> QueueingSettings:
    """Parse the JSON a server returns for its model config (unknown fields ignored)."""
    return _settings(
        json_format.ParseDict(config, _model_config_class()(), ignore_unknown_fields=True)
    )


def served_shape(model: ResolvedModel, dims: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Shape the server reports in metadata: a leading -1 batch dim when batching."""
    return (-1, *dims) if model.max_batch_size > 0 else tuple(dims)


Warmup = tuple[tuple[str, int, tuple[tuple[str, str, tuple[int, ...]], ...]], ...]


def _warmup(cfg: Any) -> Warmup:
    dtype_name = (
        type(cfg)
        .DESCRIPTOR.fields_by_name["input"]
        .message_type.fields_by_name["data_type"]
        .enum_type.values_by_number
    )
    return tuple(
        (
            w.name,
            w.batch_size,
            tuple(
                sorted(
                    (key, dtype_name[i.data_type].name, tuple(i.dims))
                    for key, i in w.inputs.items()
                )
            ),
        )
        for w in cfg.model_warmup
    )


def warmup_from_pbtxt(text: str) -> Warmup:
    """The ``model_warmup`` samples of a generated ``config.pbtxt``: (name, batch size,
    (input, TYPE_..., dims) sorted by input)."""
    return _warmup(text_format.Parse(text, _model_config_class()()))


def warmup_from_served(config: dict[str, Any]) -> Warmup:
    """The same, from the JSON a server returns for its model config."""
    return _warmup(
        json_format.ParseDict(config, _model_config_class()(), ignore_unknown_fields=True)
    )
