"""MIG reconfiguration safety: drain a node before its ``nvidia.com/mig.config`` label changes.

NVIDIA's mig-manager repartitions a node when that label changes, but it neither cordons the
node nor evicts the pods that hold MIG devices (gpu-operator#262; mig.md §6.3). So, one node
at a time (the pool keeps its other nodes serving):

1. cordon the node; 2. evict the pods that hold the GPUs whose config changes, or drain the
whole node (DaemonSets excepted) when that is not known; 3. set the label to the planned
config; 4. wait until mig-manager reports ``nvidia.com/mig.config.state=success``
(``failed`` or a timeout stops the rollout and leaves the node cordoned for a human);
5. uncordon it.

Only the changed GPUs need to be free: ``nvidia-mig-parted apply`` skips every GPU whose MIG
config already equals the desired one ("Skipping -- already set to desired value",
NVIDIA/mig-parted ``cmd/nvidia-mig-parted/apply/config.go``), so pods on the node's other
GPUs keep running. Which pod holds which GPU is read from dcgm-exporter, which labels each
GPU's (and MIG instance's) metrics with the ``pod`` and ``namespace`` using it
(:func:`pods_by_gpu`; a node whose metrics name no pod is drained whole); the device
plugin hands any free slice of a profile to any pod, so the plan's slot owners are not
enough.

Which real node gets which planned layout is chosen to change as few GPUs as possible: a node
already carrying a planned config keeps it, and the others get the config closest to theirs.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.parser import text_string_to_metric_families

MIG_CONFIG = "nvidia.com/mig.config"
MIG_STATE = "nvidia.com/mig.config.state"


DeviceConfig = tuple[bool, tuple[tuple[str, int], ...]]  # (MIG enabled, counts per profile)
NodeDevices = Mapping[int, DeviceConfig]  # GPU index -> its config, for one named config


@dataclass(frozen=True)
class NodeChange:
    node: str
    old: str | None
    new: str
    gpus: tuple[int, ...] | None = None  # GPU indices whose config changes; None: not known


class PodOps(Protocol):
    def gpu_pods(self, node: str) -> dict[int, set[tuple[str, str]]] | None:
        """GPU index -> (namespace, pod) of the pods holding it (or one of its MIG
        instances); None when it cannot be told."""
        ...

    def evict(self, namespace: str, pod: str) -> None: ...


class NodeOps(Protocol):
    def cordon(self, node: str) -> None: ...
    def drain(self, node: str) -> None: ...
    def label(self, node: str, key: str, value: str) -> None: ...
    def label_value(self, node: str, key: str) -> str | None: ...
    def uncordon(self, node: str) -> None: ...


class ReconfigureError(RuntimeError):
    pass


def changed_gpus(old: NodeDevices | None, new: NodeDevices | None) -> tuple[int, ...] | None:
    """GPU indices whose (MIG enabled, counts) differ between two node configs; None when
    either is unknown."""
    if old is None or new is None:
        return None
    return tuple(sorted(i for i in set(old) | set(new) if old.get(i) != new.get(i)))


def assign(
    current: Mapping[str, str | None],
    planned: Sequence[str],
    devices: Mapping[str, NodeDevices] | None = None,
) -> list[NodeChange]:
    """Map planned per-node configs onto real nodes (``current``: node -> its label now),
    keeping every node whose config is still wanted; each other node gets the remaining
    config that changes the fewest of its GPUs (``devices``: config name -> per-GPU config;
    unknown configs count as changing every GPU). Returns only the nodes that change, with
    the GPUs that change where both configs are known."""
    if len(planned) > len(current):
        raise ReconfigureError(f"the plan has {len(planned)} nodes, the pool has {len(current)}")
    devices = devices or {}
    wanted = Counter(planned)
    keep: set[str] = set()
    for node in sorted(current):
        cfg = current[node]
        if cfg is not None and wanted[cfg] > 0:
            wanted[cfg] -= 1
            keep.add(node)
    remaining = sorted(wanted.elements())
    changes = []
    for node in sorted(n for n in current if n not in keep):
        if not remaining:
            break
        old = current[node]

        def cost(cfg: str, old: str | None = old) -> tuple[int, str]:
            gpus = changed_gpus(devices.get(old) if old else None, devices.get(cfg))
            return (len(gpus) if gpus is not None else 1_000_000, cfg)

        best = min(remaining, key=cost)
        remaining.remove(best)
        gpus = changed_gpus(devices.get(old) if old else None, devices.get(best))
        changes.append(NodeChange(node, old, best, gpus))
    return changes


def reconfigure(
    changes: Sequence[NodeChange],
    ops: NodeOps,
    *,
    pods: PodOps | None = None,
    timeout_s: float = 900.0,
    poll_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda msg: None,
) -> None:
    """Apply each change with cordon -> evict (the changed GPUs' pods, or drain the node) ->
    label -> wait for success -> uncordon."""
    for change in changes:
        ops.cordon(change.node)
        deadline = clock() + timeout_s
        held = pods.gpu_pods(change.node) if pods is not None and change.gpus is not None else None
        if held is None or change.gpus is None:
            log(f"{change.node}: {change.old} -> {change.new}: cordon and drain the node")
            ops.drain(change.node)
        else:
            assert pods is not None
            _evict_gpus(change, held, pods, deadline, poll_s, clock, sleep, log)
        ops.label(change.node, MIG_CONFIG, change.new)
        while True:
            state = ops.label_value(change.node, MIG_STATE)
            if state == "success" and ops.label_value(change.node, MIG_CONFIG) == change.new:
                break
            if state == "failed":
                raise ReconfigureError(
                    f"{change.node}: mig-manager reports failed for "
                    f"{change.new}; the node stays cordoned"
                )
            if clock() > deadline:
                raise ReconfigureError(
                    f"{change.node}: no {MIG_STATE}=success within "
                    f"{timeout_s:g}s (last: {state}); the node stays cordoned"
                )
            sleep(poll_s)
        ops.uncordon(change.node)
        log(f"{change.node}: {change.new} applied, uncordoned")


def _evict_gpus(
    change: NodeChange,
    held: Mapping[int, set[tuple[str, str]]],
    pods: PodOps,
    deadline: float,
    poll_s: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    log: Callable[[str], None],
) -> None:
    """Evict the pods on ``change.gpus`` and wait until none holds them any more."""
    gpus = change.gpus or ()
    victims = sorted({p for i in gpus for p in held.get(i, set())})
    tenants = sorted({ns for ns, _ in victims})
    log(
        f"{change.node}: {change.old} -> {change.new}: cordon; GPU(s) "
        f"{', '.join(map(str, gpus))} change; evicting {len(victims)} pod(s)"
        + (f" of {', '.join(tenants)}" if tenants else "")
        + "; the node's other pods keep running"
    )
    for namespace, pod in victims:
        pods.evict(namespace, pod)
    while True:
        now = pods.gpu_pods(change.node) or {}
        left = sorted({p for i in gpus for p in now.get(i, set())})
        if not left:
            return
        if clock() > deadline:
            raise ReconfigureError(
                f"{change.node}: pods still hold GPU(s) {', '.join(map(str, gpus))} after "
                f"eviction ({', '.join(f'{ns}/{p}' for ns, p in left)}); the node stays cordoned"
            )
        sleep(poll_s)


def pods_by_gpu(metrics: str) -> dict[int, set[tuple[str, str]]] | None:
    """GPU index -> (namespace, pod) from dcgm-exporter's Prometheus text; None when no
    sample names a pod, so that the caller drains the whole node.

    Every sample carries ``gpu`` (the physical index, also for MIG instances, which add
    ``GPU_I_ID``). With its Kubernetes mapping on (the GPU operator's default), dcgm-exporter
    adds ``pod``/``namespace``/``container``, or ``pod_name``/``pod_namespace``/
    ``container_name`` with ``--kubernetes-use-old-namespace``, to the samples of the devices
    the kubelet's pod-resources API assigns to a pod, and no such label to the others; with
    no kubelet socket it adds none (NVIDIA/dcgm-exporter
    ``internal/pkg/transformation/const.go`` and ``kubernetes.go``, ``PodMapper.Process``).
    So text without any pod label cannot tell "no pod holds a GPU" from "mapping off", and
    evicting nothing would leave mig-parted repartitioning GPUs in use."""
    out: dict[int, set[tuple[str, str]]] = {}
    try:
        samples = [s for f in text_string_to_metric_families(metrics) for s in f.samples]
    except ValueError:  # not Prometheus text: who holds which GPU is not known
        return None
    for sample in samples:
        labels = sample.labels
        pod = labels.get("pod") or labels.get("pod_name")
        namespace = labels.get("namespace") or labels.get("pod_namespace", "")
        if pod and labels.get("gpu", "").isdigit():
            out.setdefault(int(labels["gpu"]), set()).add((namespace, pod))
    return out or None


DCGM_EXPORTER = "app=nvidia-dcgm-exporter"  # the GPU operator's dcgm-exporter pods
DCGM_PORT = 9400


class KubectlNodeOps:
    """:class:`NodeOps` through ``kubectl`` (the current kube context)."""

    def __init__(self, kubectl: str = "kubectl", drain_timeout: str = "10m") -> None:
        self.kubectl = kubectl
        self.drain_timeout = drain_timeout

    def _run(self, *args: str) -> str:
        proc = subprocess.run([self.kubectl, *args], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ReconfigureError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def cordon(self, node: str) -> None:
        self._run("cordon", node)

    def drain(self, node: str) -> None:
        self._run(
            "drain",
            node,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            f"--timeout={self.drain_timeout}",
        )

    def label(self, node: str, key: str, value: str) -> None:
        self._run("label", "node", node, f"{key}={value}", "--overwrite")

    def label_value(self, node: str, key: str) -> str | None:
        path = key.replace(".", "\\.")
        out = self._run("get", "node", node, "-o", f"jsonpath={{.metadata.labels.{path}}}")
        return out.strip() or None

    def uncordon(self, node: str) -> None:
        self._run("uncordon", node)

    def gpu_pods(self, node: str) -> dict[int, set[tuple[str, str]]] | None:
        """Read the node's dcgm-exporter metrics through the API server's pod proxy; None
        when no dcgm-exporter pod runs there, its metrics cannot be read or name no pod."""
        try:
            out = self._run(
                "get",
                "pods",
                "-A",
                "-l",
                DCGM_EXPORTER,
                "--field-selector",
                f"spec.nodeName={node}",
                "-o",
                "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{'\\n'}{end}",
            )
            found = [line for line in out.splitlines() if "/" in line]
            if not found:
                return None
            namespace, pod = found[0].split("/", 1)
            text = self._run(
                "get",
                "--raw",
                f"/api/v1/namespaces/{namespace}/pods/{pod}:{DCGM_PORT}/proxy/metrics",
            )
        except ReconfigureError:
            return None
        return pods_by_gpu(text)

    def evict(self, namespace: str, pod: str) -> None:
        """The Eviction API (honours PodDisruptionBudgets, unlike a delete)."""
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod, "namespace": namespace},
        }
        proc = subprocess.run(
            [
                self.kubectl,
                "create",
                "--raw",
                f"/api/v1/namespaces/{namespace}/pods/{pod}/eviction",
                "-f",
                "-",
            ],
            input=json.dumps(body),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 and "NotFound" not in proc.stderr:
            raise ReconfigureError(f"evict {namespace}/{pod}: {proc.stderr.strip()}")

    def nodes(self, selector: str) -> dict[str, str | None]:
        out = self._run(
            "get",
            "nodes",
            "-l",
            selector,
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}{'\\t'}"
            "{.metadata.labels.nvidia\\.com/mig\\.config}{'\\n'}{end}",
        )
        nodes: dict[str, str | None] = {}
        for line in out.splitlines():
            name, _, label = line.partition("\t")
            if name:
                nodes[name] = label or None
        return nodes
