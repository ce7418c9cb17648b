"""Every host name a tenant model's InferenceService answers to, and DNS's limits on them
(pure: no Pulumi, no cluster).

One model ``<isvc>`` of tenant ``<ns>`` (the namespace) in KServe's Serverless mode gets:

- the InferenceService's own route (KServe's top-level VirtualService): in Serverless mode
  KServe takes the predictor route's external host and drops its first ``-predictor``
  (``pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/ingress_reconciler.go``
  ``getServiceHost``; with the default template that is ``<isvc>-<ns>.<domain>``), and the
  cluster-local ``<isvc>.<ns>.svc.cluster.local`` (``network.GetServiceHostname``);
- the predictor's Knative Service ``<isvc>-predictor`` (KServe
  ``pkg/constants/constants.go`` ``PredictorServiceName``), whose Route gets the external host
  from Knative's ``domain-template`` and the cluster-local host
  ``<isvc>-predictor.<ns>.svc.cluster.local`` (Knative always uses the default template
  ``{{.Name}}.{{.Namespace}}.{{.Domain}}`` with domain ``svc.<cluster domain>`` for
  cluster-local routes: knative/serving ``pkg/reconciler/route/domains/domains.go``
  ``DomainNameFromTemplate`` and ``pkg/reconciler/route/config/domain.go``
  ``LookupDomainForLabels``);
- the predictor's tagged routes ``prev`` and ``latest``: KServe splits a canary's traffic
  with Knative tags (``prev`` on the last rolled-out revision; ``latest`` on the new one when
  ``serving.kserve.io/enable-tag-routing`` is set: KServe
  ``pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go``). A
  tag's route name is ``render(tagTemplate, Tag=<tag>, Name=<isvc>-predictor)`` (knative
  ``HostnameFromTemplate``; default ``{{.Tag}}-{{.Name}}``); it gets hosts like any route and
  a Kubernetes placeholder Service of that name (knative/serving
  ``pkg/reconciler/route/resources/service.go``).

Every model is given its tag hosts whether or not it runs a canary today, so that adding a
canary never needs a rename, and policies can cover the hosts before they appear.

Limits (checked by :func:`host_problems`): each dot-separated label at most 63 characters
and a host at most 253 (RFC 1035 section 2.3.4; Kubernetes ``IsFullyQualifiedDomainName``
and ``IsDNS1123Label`` in apimachinery ``pkg/util/validation``, which Knative applies to
every generated domain in ``DomainNameFromTemplate``); a Route or Service name is a
DNS-1035 label (at most 63). A Route whose host breaks them never becomes Ready.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .platform import Ingress
from .templates import render

CLUSTER_DOMAIN = "cluster.local"  # the Kubernetes cluster domain (kubelet --cluster-domain)
CLUSTER_LOCAL_DOMAIN = f"svc.{CLUSTER_DOMAIN}"
PREDICTOR_SUFFIX = "-predictor"
CANARY_TAGS = ("prev", "latest")
MAX_LABEL = 63  # RFC 1035 2.3.4: a label is at most 63 octets
MAX_HOST = 253  # RFC 1035 2.3.4 (255 octets on the wire: 253 characters as text)

Route = Literal["inference-service", "predictor", "tag"]
Visibility = Literal["external", "cluster-local"]
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Host:
    """One host name: which model of which namespace it reaches, and by which route."""

    name: str
    model: str
    namespace: str
    route: Route
    visibility: Visibility
    route_name: str  # the InferenceService, Knative Route or tag route (a Service name)
    tag: str | None = None

    def describe(self) -> str:
        what = {
            "inference-service": "InferenceService",
            "predictor": "predictor route",
            "tag": f"canary tag {self.tag!r} route",
        }[self.route]
        return f"{self.visibility} host of the {what}"


def predictor_name(model: str) -> str:
    """The predictor's Knative Service (and Route) name: ``<isvc>-predictor``."""
    return model + PREDICTOR_SUFFIX


# Knative names each revision of the predictor's Configuration ``<config>-<generation, at
# least 5 digits>`` (knative/serving pkg/reconciler/configuration/resources/revision.go:
# kmeta.ChildName(configuration.Name, fmt.Sprintf("-%05d", generation))), and gives each
# revision two Kubernetes Services in the namespace: ``<revision>`` (the public Service,
# named after the revision's ServerlessService: pkg/reconciler/serverlessservice/resources/
# services.go) and ``<revision>-private`` (.../resources/names/names.go PrivateService).
_REVISION_SERVICE = re.compile(r"^(?P<config>[a-z0-9-]+)-(?P<generation>[0-9]{5,})(-private)?$")


def revision_service_of(name: str, models: Iterable[str]) -> tuple[str, str] | None:
    """(model, revision) when ``name`` is the name of a Kubernetes Service Knative creates
    for a revision of one of ``models``' predictors: KServe names each InferenceService's
    own Service after it (its ExternalName Service to the local gateway: kserve
    pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/ingress_reconciler.go), so
    a model named so would fight that model's revision over one Service."""
    match = _REVISION_SERVICE.match(name)
    if match is None:
        return None
    for model in models:
        if model != name and match["config"] == predictor_name(model):
            return model, f"{match['config']}-{match['generation']}"
    return None


def tag_route_name(model: str, tag: str, ingress: Ingress) -> str:
    """The name of a tagged route of the predictor (``tag-template``)."""
    return render(ingress.tag_template, {"Tag": tag, "Name": predictor_name(model)})


def _external(name: str, namespace: str, ingress: Ingress) -> str:
    return render(
        ingress.domain_template, {"Name": name, "Namespace": namespace, "Domain": ingress.domain}
    )


def _local(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.{CLUSTER_LOCAL_DOMAIN}"


def model_hosts(model: str, namespace: str, ingress: Ingress) -> tuple[Host, ...]:
    """Every host of InferenceService ``model`` in ``namespace``: the InferenceService's,
    the predictor route's and the ``prev``/``latest`` tag routes', each external and
    cluster-local (full names; see :func:`short_forms` for what a cluster-local one may also
    be called)."""
    routes: list[tuple[str, Route, str | None]] = [
        (model, "inference-service", None),
        (predictor_name(model), "predictor", None),
    ]
    routes += [(tag_route_name(model, tag, ingress), "tag", tag) for tag in CANARY_TAGS]
    out = []
    for name, route, tag in routes:
        external = _external(name, namespace, ingress)
        out.append(Host(external, model, namespace, route, "external", name, tag))
        out.append(
            Host(_local(name, namespace), model, namespace, route, "cluster-local", name, tag)
        )
    return tuple(out)


def tenant_hosts(namespace: str, models: Iterable[str], ingress: Ingress) -> list[Host]:
    """:func:`model_hosts` of every model of one tenant, in model order."""
    return [h for m in models for h in model_hosts(m, namespace, ingress)]


def short_forms(host: Host) -> tuple[str, ...]:
    """The names a cluster-local host may also be reached by inside the cluster
    (``<svc>.<ns>.svc`` and ``<svc>.<ns>``: knative/networking ``pkg/ingress`` ``ExpandedHosts``,
    which the ingress matches too); an external host has none."""
    if host.visibility != "cluster-local":
        return ()
    base = host.name.removesuffix("." + CLUSTER_LOCAL_DOMAIN)
    return (f"{base}.svc", base)


def host_problems(name: str) -> list[str]:
    """What DNS refuses in one host name (empty when it is valid)."""
    out = []
    if len(name) > MAX_HOST:
        out.append(f"the host has {len(name)} characters, more than {MAX_HOST}")
    for label in name.split("."):
        if len(label) > MAX_LABEL:
            out.append(f"label {label!r} has {len(label)} characters, more than {MAX_LABEL}")
        elif not _LABEL.match(label):
            out.append(f"label {label!r} is not a DNS label (lower-case letters, digits, '-')")
    return out


def longest_model_name(namespace: str, ingress: Ingress) -> int:
    """The longest model name whose every host (:func:`model_hosts`) is valid in
    ``namespace``; 0 when even a one-letter name does not fit."""
    lo, hi = 0, MAX_LABEL
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if any(host_problems(h.name) for h in model_hosts("a" * mid, namespace, ingress)):
            hi = mid - 1
        else:
            lo = mid
    return lo


KMETA_MAX_NAME = 63  # knative/pkg kmeta.ChildName: the longest name it returns


def child_name(parent: str, suffix: str) -> str:
    """Knative's ``kmeta.ChildName``: ``parent + suffix`` when that fits in 63 characters;
    otherwise ``parent`` cut short and followed by the hex MD5 of ``parent`` (of ``parent +
    suffix`` when the suffix leaves no room), then the suffix (knative/pkg ``kmeta/names.go``;
    its ``names_test.go`` cases are this function's test)."""
    head = KMETA_MAX_NAME - 32  # room left by the 32 hex digits of the hash
    if len(parent) <= KMETA_MAX_NAME - len(suffix):
        return parent + suffix
    if head - len(suffix) <= 0:
        digest = hashlib.md5((parent + suffix).encode(), usedforsecurity=False).hexdigest()
        out = parent[:head] + digest
        out += suffix[: max(0, KMETA_MAX_NAME - len(out))]
        return out.rstrip("-")
    digest = hashlib.md5(parent.encode(), usedforsecurity=False).hexdigest()
    return parent[: head - len(suffix)] + digest + suffix
