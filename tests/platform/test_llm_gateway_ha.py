"""The highly available LLM gateway render (:mod:`tenantry.k8s.llm_gateway`): replicas from
``llmGatewayReplicas`` and a bad value refused at its line; a PodDisruptionBudget and a
topology spread that select the gateway's own pods; probes on paths the real server routes;
a grace period that covers the longest request the gateway lets run, with Istio's sidecar
draining as long; and, with more than one replica, the Redis they share: wired with the
address and password file the gateway reads, its configuration accepted by a real
redis-server, and fenced so that only the gateway's pods reach it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tenantry.cli.main import main
from tenantry.devserver.process import free_port, stop
from tenantry.engine import Record
from tenantry.k8s.llm_gateway import (
    GATEWAY_LABELS,
    METRICS_PORT,
    REDIS_LABELS,
    REDIS_PORT,
    redis_conf,
)
from tenantry.k8s.llm_inference_service import LLM_NAMESPACE
from tenantry.llmgateway import Gateway, GatewayMetrics, MemoryLimits
from tenantry.llmgateway.cli import configure
from tenantry.plan.snapshot import policy_resources
from tenantry.policy import RULES, Context, evaluate
from tenantry.policy.reachability.netpol import Endpoint, Network, network_policy
from tenantry.spec import PlatformSettings
from tests.components.helpers import ROOT, platform
from tests.conftest import server_missing
from tests.llmgateway.test_routes_and_policy import _doc

from .helpers import (
    GATEWAY_IMAGE,
    REDIS_DIGEST,
    VLLM_DIGEST,
    platform_records,
    platform_with,
)

GATEWAY_PRINCIPAL = "cluster.local/ns/tenantry-llm/sa/tenantry-llm-gateway"


def _settings(**changes: Any) -> PlatformSettings:
    data = platform().model_dump(by_alias=True)
    data.update(
        llmGatewayImage=GATEWAY_IMAGE,
        vllmImageDigest=VLLM_DIGEST,
        llmRedisImageDigest=REDIS_DIGEST,
        tritonImageDigest="sha256:" + "1" * 64,
        tritonTensorflowImageDigest="sha256:" + "2" * 64,
    )
    data.update(changes)
    return PlatformSettings.model_validate(data)


def _records(settings: PlatformSettings) -> dict[str, Record]:
    return {r.name: r for r in platform_with(settings)}


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _args(container: dict[str, Any]) -> dict[str, str]:
    a = container["args"]
    return dict(zip(a[::2], a[1::2], strict=True))


@pytest.mark.parametrize("replicas", [2, 3])
def test_replicas_pdb_and_spread_select_the_gateway_pods(replicas: int) -> None:
    recs = _records(_settings(llmGatewayReplicas=replicas))
    dep = recs["platform-llm-gateway"].inputs["spec"]
    pod_labels = dep["template"]["metadata"]["labels"]
    assert dep["replicas"] == replicas
    # a rollout never has fewer ready pods than replicas
    assert dep["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    pdb = recs["platform-llm-gateway-pdb"].inputs
    assert pdb["metadata"]["namespace"] == LLM_NAMESPACE
    assert _matches(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    assert pdb["spec"]["maxUnavailable"] == 1 and replicas - 1 >= 1  # one always serving
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    spread = {c["topologyKey"]: c for c in dep["template"]["spec"]["topologySpreadConstraints"]}
    assert set(spread) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    for c in spread.values():
        assert c["maxSkew"] == 1 and c["nodeTaintsPolicy"] == "Honor"
        assert _matches(c["labelSelector"]["matchLabels"], pod_labels)
        assert c["matchLabelKeys"] == ["pod-template-hash"]


def test_the_probes_are_routes_of_the_real_server_on_its_metrics_port() -> None:
    recs = _records(_settings())
    (c,) = recs["platform-llm-gateway"].inputs["spec"]["template"]["spec"]["containers"]
    config, args = configure(
        [
            "--routes",
            str(_routes_file()),
            "--upstream",
            "llama-3-8b=http://h:1",
            "--upstream",
            "other=http://h:2",
        ]
    )
    gw = Gateway(config, MemoryLimits(), GatewayMetrics())
    served = {
        (r.method, r.resource.canonical)
        for r in gw.metrics_app().router.routes()
        if r.resource is not None
    }
    port = int(_args(c)["--metrics-port"])
    assert port == METRICS_PORT
    probes = {k: c[k] for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    for name, probe in probes.items():
        assert probe["httpGet"]["port"] == port, name
        assert ("GET", probe["httpGet"]["path"]) in served, (name, served)
    # readiness is the one that turns 503 on SIGTERM; liveness stays 200 while draining
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert args.metrics_port == 9090


def _routes_file() -> Path:
    import json

    path = Path(tempfile.mkdtemp(prefix="gwha-routes-")) / "routes.json"
    path.write_text(json.dumps(_doc()))
    return path


def test_the_grace_period_covers_the_longest_request_and_the_sidecar_drains_as_long() -> None:
    import json

    recs = _records(_settings())
    template = recs["platform-llm-gateway"].inputs["spec"]["template"]
    (c,) = template["spec"]["containers"]
    longest = float(_args(c)["--max-request-seconds"])
    grace = template["spec"]["terminationGracePeriodSeconds"]
    # the drain waits for the longest request, then the listeners close (at most 5 s)
    assert grace >= longest + 5
    proxy = json.loads(template["metadata"]["annotations"]["proxy.istio.io/config"])
    assert proxy["terminationDrainDuration"] == f"{grace}s"
    assert proxy["proxyMetadata"] == {"EXIT_ON_ZERO_ACTIVE_CONNECTIONS": "true"}
    assert proxy["holdApplicationUntilProxyStarts"] is True


def test_the_redis_is_wired_the_way_the_gateway_reads_it() -> None:
    recs = _records(_settings())
    gw_pod = recs["platform-llm-gateway"].inputs["spec"]["template"]["spec"]
    (gw,) = gw_pod["containers"]
    args = _args(gw)
    svc = recs["platform-llm-redis-service"].inputs
    host = f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local"
    (port,) = svc["spec"]["ports"]
    assert args["--redis"] == f"redis://{host}:{port['port']}/0"
    assert port["name"].startswith("tcp") and port["targetPort"] == REDIS_PORT
    # the password file is the Secret's password key, mounted where the argument says
    mounts = {m["name"]: m["mountPath"] for m in gw["volumeMounts"]}
    volumes = {v["name"]: v for v in gw_pod["volumes"]}
    secret = recs["platform-llm-redis-secret"].inputs
    assert args["--redis-password-file"] == f"{mounts['redis']}/password"
    assert volumes["redis"]["secret"]["secretName"] == secret["metadata"]["name"]
    assert secret["stringData"] == {"password": "<secret>", "redis.conf": "<secret>"}
    # Redis: by digest, its configuration from the same Secret, the Service selects it
    redis = recs["platform-llm-redis"].inputs
    pod = redis["spec"]["template"]
    (c,) = pod["spec"]["containers"]
    assert c["image"] == f"docker.io/library/redis@{REDIS_DIGEST}"
    assert "annotations" not in redis["metadata"]
    assert _matches(svc["spec"]["selector"], pod["metadata"]["labels"])
    assert redis["spec"]["replicas"] == 1 and redis["spec"]["strategy"] == {"type": "Recreate"}
    conf_mount = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}["conf"]
    (conf_volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == "conf"]
    assert conf_volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert c["command"] == ["redis-server", f"{conf_mount}/redis.conf"]
    (env,) = c["env"]
    assert env["name"] == "REDISCLI_AUTH"
    assert env["valueFrom"]["secretKeyRef"] == {
        "name": secret["metadata"]["name"],
        "key": "password",
    }
    assert pod["spec"]["automountServiceAccountToken"] is False
    for kind in ("requests", "limits"):
        assert set(c["resources"][kind]) == {"cpu", "memory", "ephemeral-storage"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_with_one_replica_there_is_no_redis_and_the_limits_stay_in_process() -> None:
    recs = _records(_settings(llmGatewayReplicas=1))
    (c,) = recs["platform-llm-gateway"].inputs["spec"]["template"]["spec"]["containers"]
    assert "--redis" not in c["args"] and "--redis-password-file" not in c["args"]
    assert not [n for n in recs if "redis" in n]
    assert recs["platform-llm-gateway"].inputs["spec"]["replicas"] == 1
    # the budget lets a node drain evict the one pod (a budget of 0 would block it)
    assert recs["platform-llm-gateway-pdb"].inputs["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "greater than or equal to 1"), (65, "less than or equal to 64"), ("two", "integer")],
)
def test_a_bad_replica_count_is_refused(value: Any, expected: str) -> None:
    with pytest.raises(ValidationError, match="llmGatewayReplicas") as exc:
        _settings(llmGatewayReplicas=value)
    assert expected in str(exc.value)


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[Path]:
    out = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", out)
    yield out


@pytest.mark.parametrize(("value", "expected"), [("0", "accepted: >= 1"), ("true", "a number")])
def test_validate_names_the_line_of_a_bad_replica_count(
    stacks: Path, value: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _set_replicas(stacks, value)
    assert main(["validate", str(ROOT / "tenants"), "--stacks", str(stacks)]) != 0
    out = capsys.readouterr()
    text = out.out + out.err
    cfg = stacks / "Pulumi.platform.yaml"
    (err,) = [t for t in text.splitlines() if "llmGatewayReplicas" in t]
    assert err.startswith(f"{cfg}:{line}: error: tenantry:platform.llmGatewayReplicas:"), err
    assert expected in err and "given:" in err


def test_validate_warns_that_one_replica_is_a_single_point_of_failure(
    stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _set_replicas(stacks, "1")
    assert main(["validate", str(ROOT / "tenants"), "--stacks", str(stacks)]) == 0
    cfg = stacks / "Pulumi.platform.yaml"
    (warning,) = [t for t in capsys.readouterr().out.splitlines() if "llmGatewayReplicas" in t]
    assert warning.startswith(f"{cfg}:{line}: warning: tenantry:platform.llmGatewayReplicas:")
    assert "single point of failure" in warning


def _set_replicas(stacks: Path, value: str) -> int:
    cfg = stacks / "Pulumi.platform.yaml"
    text = cfg.read_text()
    anchor = "    llmRuntimeTls: false "
    assert anchor in text
    cfg.write_text(text.replace(anchor, f"    llmGatewayReplicas: {value}\n{anchor}", 1))
    return next(
        i
        for i, t in enumerate(cfg.read_text().splitlines(), 1)
        if t.startswith("    llmGatewayReplicas:")
    )


def _pod(ns: str, labels: dict[str, str]) -> Endpoint:
    return Endpoint(ns, tuple(sorted(labels.items())), "10.0.0.1")


def test_only_the_gateway_reaches_redis() -> None:
    recs = platform_records()
    policies = [
        network_policy(r.inputs)
        for r in recs
        if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
        and r.inputs["metadata"]["namespace"] == LLM_NAMESPACE
    ]
    net = Network(policies, {})
    redis = _pod(LLM_NAMESPACE, REDIS_LABELS)
    assert net.allows(_pod(LLM_NAMESPACE, GATEWAY_LABELS), redis, REDIS_PORT).allowed
    for src in (
        _pod("acme", {"app": "client"}),
        _pod("monitoring", {"app": "prometheus"}),
        _pod(LLM_NAMESPACE, {"app.kubernetes.io/part-of": "llminferenceservice"}),
        _pod(LLM_NAMESPACE, {"app": "other"}),
    ):
        assert not net.allows(src, redis, REDIS_PORT).allowed, src
    (authz,) = [r for r in recs if r.name == "platform-llm-redis-authz"]
    spec = authz.inputs["spec"]
    assert spec["action"] == "ALLOW"
    assert spec["selector"]["matchLabels"] == REDIS_LABELS
    (rule,) = spec["rules"]
    assert rule == {
        "from": [{"source": {"principals": [GATEWAY_PRINCIPAL]}}],
        "to": [{"operation": {"ports": [str(REDIS_PORT)]}}],
    }
    (sa,) = [r for r in recs if r.name == "platform-llm-gateway-sa"]
    assert GATEWAY_PRINCIPAL.endswith(f"/ns/{LLM_NAMESPACE}/sa/{sa.inputs['metadata']['name']}")


def _violations(replicas: int) -> set[str]:
    recs = _records(_settings(llmGatewayReplicas=replicas))
    resources = policy_resources([r.to_data() for r in recs.values()])
    return {f"{v.rule}: {v.resource}: {v.message}" for v in evaluate(resources, Context(), RULES)}


def test_every_guardrail_passes_on_the_ha_objects() -> None:
    """Every rule over the whole platform render with 3 replicas and their Redis: nothing
    about the gateway, its budget or Redis, and nothing the single-replica render does not
    have already (the tenant rules read the platform's own objects as a tenant's: its
    namespaces carry ``tenant: platform`` and lack a tenant's quota, its Helm releases a
    tenant's labels; tests/policy test_weakened_renders.py leaves them out likewise). The
    pod-bearing rules (ephemeral storage, pinning) thus hold for the gateway and Redis."""
    ha, single = _violations(3), _violations(1)
    assert ha <= single, sorted(ha - single)
    assert not [v for v in ha if "gateway" in v or "redis" in v], ha


@pytest.mark.server
def test_a_real_redis_server_runs_the_rendered_configuration(tmp_path: Path) -> None:
    """The configuration :func:`redis_conf` renders, password with a quote, a backslash and
    a space in it, read by Debian's redis-server: the password is required and accepted, no
    persistence, no eviction."""
    import redis

    exe = shutil.which("redis-server")
    if exe is None:
        server_missing("redis-server is not installed (Debian package redis-server)")
    password = 'pa ss"wo\\rd-' + "x" * 20
    conf = tmp_path / "redis.conf"
    # /data is the pod's emptyDir; here the test's directory
    conf.write_text(redis_conf(password).replace("dir /data\n", f"dir {tmp_path}\n"))
    port = free_port()
    args = [exe, str(conf), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)]
    with open(tmp_path / "log", "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        client = redis.Redis(port=port, password=password)
        deadline = time.monotonic() + 20
        while True:
            try:
                assert client.ping() is True
                break
            except redis.ConnectionError:
                assert proc.poll() is None, (tmp_path / "log").read_text()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, password=password + "x").ping()
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("maxmemory") == {"maxmemory": str(64 * 1024 * 1024)}
    finally:
        stop(proc)
