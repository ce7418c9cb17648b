"""What a node offers pods: an instance type's allocatable CPU, memory and pod slots, less
the node agents that run on every GPU node.

Kubernetes schedules a pod on a node only when the sum of the requests of the pods already
there plus its own stays within the node's *allocatable* (capacity less ``kubeReserved``,
``systemReserved`` and the hard eviction threshold; Kubernetes docs, "Reserve Compute
Resources for System Daemons"). Figures, per node:

- Memory capacity: the instance's nominal memory less the hypervisor's share, which
  Karpenter estimates as ``vmMemoryOverheadPercent`` = 7.5 % (Karpenter docs, Settings).
- ``kubeReserved`` as the EKS AMI computes it (awslabs/amazon-eks-ami: ``bootstrap.sh`` on
  AL2, nodeadm's kubelet config on AL2023; the same formula is in Karpenter's docs,
  "NodePools: kubelet"): CPU 6 % of the first core, 1 % of the second, 0.5 % of the next
  two and 0.25 % of every core above four; memory ``11 MiB x maxPods + 255 MiB``;
  ephemeral storage 1 GiB. ``systemReserved`` is not set by the AMI.
- Hard eviction: ``memory.available<100Mi`` (the kubelet's default).
- ``maxPods``: 110, the kubelet's default and the EKS best-practice value for nodes with
  more than 30 vCPUs on prefix delegation (Tenantry sets no other).
- DaemonSets on every GPU node (:data:`GPU_NODE_DAEMONSETS`): the GPU operator's operands
  that ``platform.charts.gpu_operator_values`` enables (device plugin, GPU feature
  discovery, DCGM exporter, mig-manager, operator validator: the pinned chart's
  ``values.yaml`` v25.10.0 gives them ``resources: {}``, no requests), the
  node-feature-discovery worker (its chart's default requests, ``cpu: 5m``,
  ``memory: 64Mi``) and EKS's own ``aws-node`` (VPC CNI, ``cpu: 25m``) and ``kube-proxy``
  (``cpu: 100m``) add-ons. General nodes run the two EKS add-ons only.

Ephemeral storage is not modelled: no Tenantry spec field requests it.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PODS = 110
VM_MEMORY_OVERHEAD = 0.075  # Karpenter's vmMemoryOverheadPercent default
EVICTION_MEMORY_MIB = 100  # kubelet default evictionHard memory.available


@dataclass(frozen=True)
class DaemonSetRequests:
    name: str
    cpu_m: int  # millicores
    memory_mib: int
    gpu_only: bool  # runs on GPU nodes only


GPU_NODE_DAEMONSETS: tuple[DaemonSetRequests, ...] = (
    DaemonSetRequests("nvidia-device-plugin-daemonset", 0, 0, True),
    DaemonSetRequests("gpu-feature-discovery", 0, 0, True),
    DaemonSetRequests("nvidia-dcgm-exporter", 0, 0, True),
    DaemonSetRequests("nvidia-mig-manager", 0, 0, True),
    DaemonSetRequests("nvidia-operator-validator", 0, 0, True),
    DaemonSetRequests("node-feature-discovery-worker", 5, 64, True),
    DaemonSetRequests("aws-node", 25, 0, False),
    DaemonSetRequests("kube-proxy", 100, 0, False),
)


@dataclass(frozen=True)
class NodeResources:
    """Requests a node's pods may sum to (or a pod asks for): millicores, MiB, pods."""

    cpu_m: int
    memory_mib: int
    pods: int

    def fits(self, other: NodeResources) -> bool:
        """Whether ``other`` (summed requests) stays within this allocatable."""
        return (
            other.cpu_m <= self.cpu_m
            and other.memory_mib <= self.memory_mib
            and other.pods <= self.pods
        )

    def to_dict(self) -> dict[str, int]:
        return {"cpu_millicores": self.cpu_m, "memory_mib": self.memory_mib, "pods": self.pods}


def kube_reserved_cpu_m(vcpu: int) -> int:
    """The EKS AMI's ``kubeReserved`` CPU in millicores for ``vcpu`` cores (see module doc)."""
    steps = ((1, 60.0), (1, 10.0), (2, 5.0), (max(vcpu - 4, 0), 2.5))  # millicores per core
    left, out = vcpu, 0.0
    for cores, per in steps:
        n = min(cores, left)
        out += n * per
        left -= n
    return int(out)


def kube_reserved_memory_mib(max_pods: int = MAX_PODS) -> int:
    """The EKS AMI's ``kubeReserved`` memory: ``11 x maxPods + 255`` MiB."""
    return 11 * max_pods + 255


def node_allocatable(vcpu: int, memory_gib: float, *, gpu_node: bool) -> NodeResources:
    """What pods of a workload may request on one node of ``vcpu`` cores and ``memory_gib``
    nominal GiB: allocatable less the DaemonSets of :data:`GPU_NODE_DAEMONSETS` that run
    there (``gpu_node``: the GPU operator's too)."""
    agents = [d for d in GPU_NODE_DAEMONSETS if gpu_node or not d.gpu_only]
    capacity_mib = int(memory_gib * 1024 * (1 - VM_MEMORY_OVERHEAD))
    return NodeResources(
        cpu_m=vcpu * 1000 - kube_reserved_cpu_m(vcpu) - sum(d.cpu_m for d in agents),
        memory_mib=capacity_mib
        - kube_reserved_memory_mib()
        - EVICTION_MEMORY_MIB
        - sum(d.memory_mib for d in agents),
        pods=MAX_PODS - len(agents),
    )


def cpu_m(cores: float) -> int:
    """Cores (a spec's ``cpu``) to millicores, rounded up as Kubernetes does."""
    return -int(-round(cores * 1000, 6) // 1)


def memory_mib(gib: float) -> int:
    """GiB (a spec's ``memoryGiB``) to MiB, rounded up."""
    return -int(-round(gib * 1024, 6) // 1)
