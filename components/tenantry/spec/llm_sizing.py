"""What one vLLM replica asks of its node besides its GPUs: CPU and memory (pure).

A tenant's own LLM (``spec.llms[]``) and a platform base model (``llmBaseModels[]``) may set
``cpu`` and ``memoryGiB`` per replica; where they do not, these defaults apply. The render
sets them as the vLLM container's requests and limits (Guaranteed QoS, as the Triton models
get), the tenant's quota rules and the fleet planner count them, and validation refuses a
replica that no node of its target could hold. Without them the container would get the
tenant namespace's LimitRange default (1 CPU, 1Gi): KServe's LLMInferenceServiceConfig
template sets no resources on its ``main`` container (kserve v0.20.0
``config/llmisvcconfig/config-llm-template.yaml``), and vLLM is OOM-killed loading any real
model.

The rules, per replica of ``N`` devices (``N`` = ``gpus`` for whole GPUs, 1 for a MIG slice):

- ``cpu`` = :data:`VCPU_PER_CORE` x (2 + N): vLLM V1 runs an API server process, an engine
  core process (a busy loop) and one worker per GPU, and its documentation names ``2 + N``
  *physical* cores as the minimum (vLLM docs, ``docs/configuration/optimization.md``,
  "CPU Resources for GPU Deployments", vllm-project/vllm#33940). A Kubernetes CPU is one
  hyperthread (Kubernetes docs, "Resource Management for Pods and Containers": "1 CPU unit
  is equivalent to 1 physical CPU core, or 1 virtual core"), and the catalog's GPU instances
  (x86, Intel or AMD) run two threads per core (AWS EC2 User Guide, "CPU options": each vCPU
  is a thread of a core, two per core by default).
- ``memoryGiB`` = the replica's GPU memory (:func:`device_memory_gib`) + :data:`LLM_SHM_GIB`
  + :data:`PROCESS_GIB` x (2 + N). The weights must fit the GPU memory vLLM is given
  (weights plus KV cache within ``--gpu-memory-utilization`` of it: vLLM docs, "Engine
  Arguments"), so the GPU memory bounds them; vLLM's loaders read checkpoint files into
  host tensors before copying them to the GPU (``pt_weights_iterator`` loads a ``.bin``
  shard whole with ``torch.load(map_location="cpu")``: vLLM
  ``vllm/model_executor/model_loader/weight_utils.py``), so host memory of at least the
  weights loads any model that fits its GPUs. The ``/dev/shm`` emptyDir is ``medium:
  Memory`` and what is written to it counts against the container's memory (Kubernetes
  docs, "Volumes", emptyDir), so its
  ``sizeLimit`` is added. :data:`PROCESS_GIB` per vLLM process (Python, PyTorch, the CUDA
  context, the tokenizer) is Tenantry's allowance, not a measured figure: set ``memoryGiB``
  where a model needs more (a shared base model with many large adapters in its host cache,
  ``maxCpuLoras``, among them).
"""

from __future__ import annotations

import math

from ..catalog import gpu_models

VCPU_PER_CORE = 2  # hyperthreads per physical core on the catalog's x86 GPU instances
LLM_SHM_GIB = 8  # the vLLM pod's /dev/shm emptyDir (medium: Memory) sizeLimit
PROCESS_GIB = 2  # host memory allowed per vLLM process (API server, engine core, workers)


def devices_of(gpu: str, gpus: int) -> int:
    """Devices one replica asks for: ``gpus`` whole GPUs, or one MIG slice."""
    return gpus if gpu == "gpu" else 1


def device_memory_gib(gpu_model: str, gpu: str, count: int) -> float:
    """GPU memory (GiB) of ``count`` devices of ``gpu`` (a MIG profile, or "gpu" for whole
    GPUs) of ``gpu_model``, from the catalog (``tenantry.catalog``)."""
    model = gpu_models()[gpu_model]
    profile = model.profile(gpu)
    per = float(model.memory_gib) if profile is None else profile.memory_gib
    return per * count


def default_cpu(devices: int) -> float:
    """Cores of a replica of ``devices`` devices that sets no ``cpu`` (module docstring)."""
    return float(VCPU_PER_CORE * (2 + devices))


def default_memory_gib(gpu_model: str, gpu: str, devices: int) -> float:
    """GiB of a replica that sets no ``memoryGiB`` (module docstring), whole GiB."""
    weights = math.ceil(device_memory_gib(gpu_model, gpu, devices))
    return float(weights + LLM_SHM_GIB + PROCESS_GIB * (2 + devices))


def replica_resources(
    gpu_model: str, gpu: str, gpus: int, cpu: float | None, memory_gib: float | None
) -> tuple[float, float]:
    """(cores, GiB) one replica requests and is limited to: the declared values, else the
    defaults (:func:`default_cpu`, :func:`default_memory_gib`)."""
    devices = devices_of(gpu, gpus)
    return (
        default_cpu(devices) if cpu is None else cpu,
        default_memory_gib(gpu_model, gpu, devices) if memory_gib is None else memory_gib,
    )
