"""Fleet operations over per-tenant stacks (Automation API) and safe MIG reconfiguration."""

from .drain import KubectlNodeOps, NodeChange, NodeOps, ReconfigureError, assign, reconfigure
from .orchestrate import FleetReport, run_fleet
from .runner import AutomationRunner, CliMissing, StackResult, StackRunner, pulumi_cli
from .safety import data_at_risk, data_retained

__all__ = [
    "AutomationRunner",
    "CliMissing",
    "FleetReport",
    "KubectlNodeOps",
    "NodeChange",
    "NodeOps",
    "ReconfigureError",
    "StackResult",
    "StackRunner",
    "assign",
    "data_at_risk",
    "data_retained",
    "pulumi_cli",
    "reconfigure",
    "run_fleet",
]
