"""MIG reconfiguration safety: drain a node before its ``nvidia.com/mig.config`` label changes.

NVIDIA's mig-manager repartitions a node when that label changes, but it neither cordons the
node nor evicts the pods that hold MIG devices (gpu-operator#262; mig.md §6.3). So, one node
at a time (the pool keeps its other nodes serving):

1. cordon the node; 2. drain it (evict the pods, DaemonSets excepted); 3. set the label to the
planned config; 4. wait until mig-manager reports ``nvidia.com/mig.config.state=success``
(``failed`` or a timeout stops the rollout and leaves the node cordoned for a human);
5. uncordon it.

Which real node gets which planned layout is chosen to change as few nodes as possible: a node
already carrying a planned config keeps it.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

MIG_CONFIG = "nvidia.com/mig.config"
MIG_STATE = "nvidia.com/mig.config.state"


@dataclass(frozen=True)
class NodeChange:
    node: str
    old: str | None
    new: str


class NodeOps(Protocol):
    def cordon(self, node: str) -> None: ...
    def drain(self, node: str) -> None: ...
    def label(self, node: str, key: str, value: str) -> None: ...
    def label_value(self, node: str, key: str) -> str | None: ...
    def uncordon(self, node: str) -> None: ...


class ReconfigureError(RuntimeError):
    pass


def assign(current: Mapping[str, str | None], planned: Sequence[str]) -> list[NodeChange]:
    """Map planned per-node configs onto real nodes (``current``: node -> its label now),
    keeping every node whose config is still wanted; returns only the nodes that change."""
    if len(planned) > len(current):
        raise ReconfigureError(f"the plan has {len(planned)} nodes, the pool has {len(current)}")
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
        changes.append(NodeChange(node, current[node], remaining.pop(0)))
    return changes


def reconfigure(
    changes: Sequence[NodeChange],
    ops: NodeOps,
    *,
    timeout_s: float = 900.0,
    poll_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda msg: None,
) -> None:
    """Apply each change with cordon -> drain -> label -> wait for success -> uncordon."""
    for change in changes:
        log(f"{change.node}: {change.old} -> {change.new}: cordon and drain")
        ops.cordon(change.node)
        ops.drain(change.node)
        ops.label(change.node, MIG_CONFIG, change.new)
        deadline = clock() + timeout_s
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
