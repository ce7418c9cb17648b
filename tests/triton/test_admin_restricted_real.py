"""Triton's admin APIs, restricted as Tenantry renders them, on a REAL tritonserver (the
nvidia-pytriton wheel's, on CPU).

The server runs with the model container's args taken from the rendered InferenceService of an
example tenant, ``$(TRITON_ADMIN_KEY)`` expanded as Kubernetes expands it from the env var
(the Secret's value). Callers without the key keep health, metadata and inference; every
admin API group answers 403 on HTTP and UNAVAILABLE ("This protocol is restricted") on gRPC;
with the key they work, except loading or unloading models, which model-control mode
``none`` refuses.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tenantry.devserver import TritonServer, TritonUnavailable, running_tritonserver, write_standin
from tenantry.k8s.inference_service import inference_service_spec
from tenantry.spec import load_platform, load_registry
from tenantry.triton import model_config, serving_caps
from tenantry.triton_admin import ADMIN_APIS, ADMIN_ENV, ADMIN_HEADER, admin_key
from tests.conftest import STACKS, TENANTS, server_missing

pytestmark = pytest.mark.server
GLOBEX = load_registry([TENANTS], load_platform(STACKS)).tenants["globex"]
MODEL = GLOBEX.models[0]
KEY = admin_key("platform-secret", GLOBEX.name)


def rendered_args() -> list[str]:
    """The rendered model container's args, env vars expanded as Kubernetes does."""
    spec = inference_service_spec(GLOBEX, MODEL, "bucket", "sa")
    args = [str(a) for a in spec["predictor"]["model"]["args"]]
    env = {e["name"] for e in spec["predictor"]["model"]["env"]}
    assert ADMIN_ENV in env
    return [a.replace(f"$({ADMIN_ENV})", KEY) for a in args]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    repo = tmp_path_factory.mktemp("admin")
    pbtxt = model_config(MODEL, GLOBEX.tier, serving_caps(GLOBEX), MODEL.version, GLOBEX.name)
    write_standin(repo, MODEL.name, MODEL.version, pbtxt)
    try:
        with running_tritonserver(repo, rendered_args()) as s:
            yield s
    except TritonUnavailable as exc:
        server_missing(str(exc))


def call(server: TritonServer, method: str, path: str, key: str | None = None) -> int:
    """The HTTP status of one request, with the admin header when ``key`` is given."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers[ADMIN_HEADER] = key
    body = b"{}" if method == "POST" else None
    req = urllib.request.Request(
        f"http://{server.http_url}{path}", data=body, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


ADMIN_CALLS = {  # API group -> one HTTP call of it
    "model-repository": ("POST", "/v2/repository/index"),
    "logging": ("GET", "/v2/logging"),
    "trace": ("GET", "/v2/trace/setting"),
    "shared-memory": ("GET", "/v2/systemsharedmemory/status"),
    "statistics": ("GET", f"/v2/models/{MODEL.name}/stats"),
}


def test_every_restricted_group_is_exercised() -> None:
    assert set(ADMIN_CALLS) == set(ADMIN_APIS)


@pytest.mark.parametrize("group", sorted(ADMIN_CALLS))
def test_admin_api_refused_without_the_key(server: TritonServer, group: str) -> None:
    method, path = ADMIN_CALLS[group]
    assert call(server, method, path) == 403
    assert call(server, method, path, key="not-the-key") == 403
    assert call(server, method, path, key=KEY) == 200


def test_callers_keep_health_metadata_and_config(server: TritonServer) -> None:
    assert call(server, "GET", "/v2/health/ready") == 200
    assert call(server, "GET", f"/v2/models/{MODEL.name}") == 200
    assert call(server, "GET", f"/v2/models/{MODEL.name}/config") == 200


def test_model_control_none_refuses_load_even_with_the_key(server: TritonServer) -> None:
    load = f"/v2/repository/models/{MODEL.name}/unload"
    assert call(server, "POST", load) == 403
    # measured on 2.51.0: 503, "explicit model load / unload is not allowed if polling is enabled"
    assert call(server, "POST", load, key=KEY) == 503
    assert call(server, "GET", f"/v2/models/{MODEL.name}/ready") == 200


def test_grpc_admin_refused_without_the_key(server: TritonServer) -> None:
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    client = grpcclient.InferenceServerClient(server.grpc_url)
    assert client.is_server_ready()
    with pytest.raises(InferenceServerException, match="This protocol is restricted"):
        client.get_model_repository_index()
    with pytest.raises(InferenceServerException, match="This protocol is restricted"):
        client.get_log_settings()
    header = {f"triton-grpc-protocol-{ADMIN_HEADER}": KEY}  # gRPC's form of the header
    index = client.get_model_repository_index(headers=header, as_json=True)
    assert json.dumps(index).count(MODEL.name) >= 1
