"""Every generated config.pbtxt, loaded by a REAL tritonserver (the one bundled in the
nvidia-pytriton wheel, on CPU), and its served configuration read back with tritonclient;
every generated ``model_warmup`` runs before the server reports ready.

Stand-ins (:mod:`tenantry.devserver`): each model directory gets the generated
``config.pbtxt`` with only its backend line and instance kind rewritten, and a Python-backend
``model.py`` of the same signature. Stable and canary revisions share a model name, so they
load on two servers in turn.

Skipped when the wheel's tritonserver is missing, except with CI=true, where that fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tenantry.devserver import (
    TritonUnavailable,
    parse_config_key,
    running_tritonserver,
    write_standin,
)
from tenantry.engine import record_tenant, render_files
from tenantry.triton import warmup_samples
from tests.components.helpers import EXAMPLES, ROOT, tenants
from tests.conftest import server_missing

pytestmark = pytest.mark.server


def generated_configs() -> dict[str, str]:
    """Bucket key -> config.pbtxt, exactly as `tenantry render` writes them."""
    out = {}
    for name in EXAMPLES:
        for path, data in render_files(
            record_tenant(name, ROOT / "tenants", ROOT / "stacks")
        ).items():
            if path.startswith("triton/"):
                out[path.removeprefix("triton/")] = data.decode()
    return out


CONFIGS = generated_configs()
REVISION_SETS = {  # one model name per repository: stable revisions, then canaries
    "stable": {
        k: v
        for k, v in CONFIGS.items()
        if any(
            k.split("/")[2] == f"v{m.version}" and k.split("/")[1] == m.name
            for t in tenants().values()
            for m in t.models
        )
    },
}
REVISION_SETS["canary"] = {k: v for k, v in CONFIGS.items() if k not in REVISION_SETS["stable"]}


@pytest.fixture(scope="module", params=sorted(REVISION_SETS))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Any, list[dict[str, Any]]]]:
    """(which revisions, a client, the executions each stand-in ran before the server
    reported ready): every stand-in logs each request it executes."""
    import tritonclient.http as httpclient

    root = tmp_path_factory.mktemp("triton")
    repo = root / request.param
    log = root / "executions.jsonl"
    log.touch()
    for key, text in REVISION_SETS[request.param].items():
        model, version = parse_config_key(key)
        write_standin(repo, model, version, text, {"execution_log": str(log)})
    try:
        with running_tritonserver(
            repo, ["--disable-auto-complete-config", "--rate-limit=execution_count"]
        ) as server:
            before_ready = [json.loads(line) for line in log.read_text().splitlines()]
            yield request.param, httpclient.InferenceServerClient(server.http_url), before_ready
    except TritonUnavailable as exc:
        server_missing(str(exc))


def expected() -> dict[tuple[str, str], tuple[Any, Any]]:
    return {
        (m.name, v): (t, m)
        for t in tenants().values()
        for m in t.models
        for v in (m.version, *([m.canary.version] if m.canary else []))
    }


def test_every_generated_config_is_served_with_its_queue_policy(
    served: tuple[str, Any, list[dict[str, Any]]],
) -> None:
    which, client, _ = served
    keys = REVISION_SETS[which]
    assert keys, "nothing to load"
    want = expected()
    for key in keys:
        model, version = parse_config_key(key)
        t, m = want[(model, version)]
        assert client.is_model_ready(model, version), f"{model} v{version} not ready"
        cfg = client.get_model_config(model)
        assert cfg["max_batch_size"] == m.max_batch_size
        assert cfg["version_policy"] == {"specific": {"versions": [int(version)]}}
        db = cfg["dynamic_batching"]
        # no queue priorities (the tier's priority is the rate limiter's, below)
        assert int(db.get("priority_levels", 0)) == 0
        assert int(db.get("default_priority_level", 0)) == 0
        assert db["max_queue_delay_microseconds"] > 0
        policy = db["default_queue_policy"]
        assert policy["timeout_action"] == "REJECT"
        assert policy["max_queue_size"] == t.quotas.max_queue_depth
        [group] = cfg["instance_group"]
        if m.gpu:
            assert group["rate_limiter"]["priority"] == t.tier.queue_priority
            assert group["rate_limiter"]["resources"] == [
                {"name": "tenantry_device", "global": False, "count": 1}
            ]
        assert [i["name"] for i in cfg["input"]] == [i.name for i in m.inputs]
        assert [o["name"] for o in cfg["output"]] == [o.name for o in m.outputs]


def test_every_model_ran_its_generated_warmup_before_ready(
    served: tuple[str, Any, list[dict[str, Any]]],
) -> None:
    """The server answered ready (strict readiness: every model ready) only after each
    model had executed every warm-up sample of its generated config: one execution per
    sample, holding ``batch_size`` requests of the declared input shape (Triton duplicates
    the sample's inputs into that many requests and runs them together)."""
    which, client, before_ready = served
    want = expected()
    for key in REVISION_SETS[which]:
        model, version = parse_config_key(key)
        _, m = want[(model, version)]
        served_warmup = client.get_model_config(model)["model_warmup"]
        samples = warmup_samples(m)
        assert [w["name"] for w in served_warmup] == [w.name for w in samples]
        assert [w["batch_size"] for w in served_warmup] == [w.batch_size for w in samples]
        first = m.inputs[0]
        dims = [1 if d == -1 else d for d in first.dims]
        ran = [e["shapes"] for e in before_ready if (e["model"], e["version"]) == (model, version)]
        one = [1, *dims] if m.max_batch_size > 0 else dims
        assert ran == [[one] * w.batch_size for w in samples], (model, version, ran)


def test_a_served_model_answers(served: tuple[str, Any, list[dict[str, Any]]]) -> None:
    import tritonclient.http as httpclient

    which, client, _ = served
    model, version = ("fraud-detector", "12") if which == "stable" else ("fraud-detector", "13")
    x = httpclient.InferInput("features", [3, 64], "FP32")
    x.set_data_from_numpy(np.ones((3, 64), dtype=np.float32))
    result = client.infer(model, [x], model_version=version)
    assert result.as_numpy("score").shape == (3, 1)
