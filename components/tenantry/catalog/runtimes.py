"""The serving runtimes and what each of their Triton images can load (pure data).

Every tenant model ``format`` is served by exactly one KServe ``ClusterServingRuntime`` on
one pinned Triton image; a format is accepted only when that image ships the Triton backend
the format needs, and that backend loads it on the model's device (:func:`format_problem`).
The platform stack declares one ClusterServingRuntime per entry of :data:`RUNTIMES`; each
InferenceService names the runtime of its format.

Which backends an image ships, from the Triton server repository's ``build.py`` at each
release tag (the backends a release builds into its ``-py3`` container) and the release
notes:

- 25.09 (Triton 2.61.0, tag ``v2.61.0``): ``build.py`` builds onnxruntime, openvino,
  python, dali, pytorch, fil, tensorrt (and tensorrtllm/vllm in their own containers); no
  TensorFlow backend. The TensorFlow backend was deprecated with 25.03 (Triton 2.56.0,
  whose ``build.py`` no longer knows it; triton-inference-server/server pull request 8068:
  "As of 25.03 TensorFlow backend is deprecated").
- 25.02 (Triton 2.55.0, tag ``v2.55.0``): ``build.py`` still builds the ``tensorflow``
  backend (from ``nvcr.io/nvidia/tensorflow:25.02-tf2-py3``): the last release whose
  container ships it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

TRITON_REPOSITORY: Final = "nvcr.io/nvidia/tritonserver"


@dataclass(frozen=True)
class TritonImage:
    tag: str
    triton_version: str
    backends: frozenset[str]
    source: str

    @property
    def image(self) -> str:
        return f"{TRITON_REPOSITORY}:{self.tag}"


@dataclass(frozen=True)
class ModelFormat:
    """One value of a tenant model's ``format``."""

    name: str
    kserve_format: str  # the KServe modelFormat name the runtime declares
    kserve_version: str  # the modelFormat version the runtime declares
    backend: str  # the Triton backend that loads it
    config: tuple[str, str]  # config.pbtxt: ("platform" | "backend", value)
    gpu_only: str | None = None  # why the backend loads it on a GPU only (KIND_CPU refused)


@dataclass(frozen=True)
class ServingRuntime:
    name: str  # ClusterServingRuntime name
    image: TritonImage
    formats: tuple[str, ...]  # tenant formats it serves
    digest_setting: str  # the platform setting that pins its image by digest
    frozen: str | None = None  # why this runtime's image never moves (a warning), if it is


TRITON: Final = TritonImage(
    "25.09-py3",
    "2.61.0",
    frozenset({"onnxruntime", "openvino", "python", "dali", "pytorch", "fil", "tensorrt"}),
    "triton-inference-server/server build.py at v2.61.0 (release 25.09)",
)
TRITON_TENSORFLOW: Final = TritonImage(
    "25.02-py3",
    "2.55.0",
    frozenset(
        {"onnxruntime", "openvino", "tensorflow", "python", "dali", "pytorch", "fil", "tensorrt"}
    ),
    "triton-inference-server/server build.py at v2.55.0 (release 25.02), the last release "
    "with the TensorFlow backend (deprecated from 25.03: server pull request 8068)",
)

FORMATS: Final = {
    f.name: f
    for f in (
        ModelFormat("onnx", "onnx", "1", "onnxruntime", ("platform", "onnxruntime_onnx")),
        ModelFormat("pytorch", "pytorch", "1", "pytorch", ("platform", "pytorch_libtorch")),
        ModelFormat(
            "tensorflow", "tensorflow", "2", "tensorflow", ("platform", "tensorflow_savedmodel")
        ),
        ModelFormat(
            "tensorrt",
            "tensorrt",
            "8",
            "tensorrt",
            ("platform", "tensorrt_plan"),
            gpu_only="a TensorRT plan is built for a GPU, and Triton's tensorrt backend refuses "
            'any instance group but KIND_GPU ("TensorRT backend supports only GPU device": '
            "triton-inference-server/tensorrt_backend src/instance_state.cc, r25.09)",
        ),
        ModelFormat("python", "triton", "2", "python", ("backend", "python")),
    )
}

RUNTIMES: Final = (
    ServingRuntime(
        "kserve-tritonserver",
        TRITON,
        ("onnx", "pytorch", "tensorrt", "python"),
        "tritonImageDigest",
    ),
    ServingRuntime(
        "kserve-tritonserver-tensorflow",
        TRITON_TENSORFLOW,
        ("tensorflow",),
        "tritonTensorflowImageDigest",
        frozen=f"Triton {TRITON_TENSORFLOW.tag} is the last image with the TensorFlow backend "
        "(deprecated from 25.03) and gets no further fixes",
    ),
)
DEFAULT_RUNTIME: Final = RUNTIMES[0]


def runtimes_for(formats: Iterable[str]) -> tuple[ServingRuntime, ...]:
    """The runtimes a platform declares for tenants serving ``formats``: the default one
    always, each other one when a format it serves is in use (so that a platform whose
    tenants serve no TensorFlow model runs, and pins, no TensorFlow image)."""
    used = set(formats)
    return tuple(rt for rt in RUNTIMES if rt is DEFAULT_RUNTIME or used & set(rt.formats))


def runtime_for(format_name: str) -> ServingRuntime:
    """The runtime that serves ``format_name`` (KeyError for a format no runtime serves)."""
    for rt in RUNTIMES:
        if format_name in rt.formats:
            return rt
    raise KeyError(format_name)


def format_problem(format_name: str, *, on_gpu: bool = True) -> str | None:
    """Why a model of ``format_name`` would not load, or None when it would: its runtime's
    image lacks the backend, or (``on_gpu`` False: a CPU-only model, config.pbtxt
    ``KIND_CPU``) the backend loads the format on a GPU only."""
    fmt = FORMATS.get(format_name)
    if fmt is None:
        return f"no Triton backend is known for format {format_name!r}"
    if not on_gpu and fmt.gpu_only:
        return f"the model has no GPU: {fmt.gpu_only}"
    try:
        rt = runtime_for(format_name)
    except KeyError:
        return f"no serving runtime serves format {format_name!r}"
    if fmt.backend not in rt.image.backends:
        return (
            f"the runtime {rt.name} runs {rt.image.image}, which ships no {fmt.backend!r} "
            f"backend ({rt.image.source})"
        )
    return None
