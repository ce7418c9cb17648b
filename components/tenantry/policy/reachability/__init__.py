"""The request-path isolation proof: who can reach which model, over the rendered objects of
every tenant and the platform (pure; see docs/gateway.md for its assumptions and limits).

:func:`analyze` reads Kubernetes manifests (Namespaces, NetworkPolicies, Istio
AuthorizationPolicy, PeerAuthentication and RequestAuthentication, KServe InferenceServices)
and the platform settings, and answers, for every caller class and every model, whether a
request reaches the model's pods and by which path.
"""

from .istio import ModelError, Token
from .matrix import ClientIntent, Edge, Intent, Report, Violation, analyze, intents_from, trace
from .paths import Caller, Outcome, activator_target
from .topology import Finding, ModelRef, World

__all__ = [
    "Caller",
    "ClientIntent",
    "Edge",
    "Finding",
    "Intent",
    "ModelError",
    "ModelRef",
    "Outcome",
    "Report",
    "Token",
    "Violation",
    "World",
    "activator_target",
    "analyze",
    "intents_from",
    "trace",
]
