"""The one verdict (tenantry.pipeline.check): the fleet's GPU plan, stack configs and
rollouts, each at the field and line it is about; and every later step refuses what it
refuses (the issue's node-group case: validate and plan passed, render platform failed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tenantry.cli.main import main
from tenantry.engine import record_platform
from tenantry.pipeline import BaseRef, DeployedModel, base_models, check
from tenantry.spec import PlatformSettings, SpecError
from tests.conftest import ROOT, TENANTS


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    tenants, stacks = tmp_path / "tenants", tmp_path / "stacks"
    shutil.copytree(TENANTS, tenants, ignore=shutil.ignore_patterns("*.json"))
    shutil.copytree(ROOT / "stacks", stacks, ignore=shutil.ignore_patterns("__pycache__"))
    return tenants, stacks


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def too_small_for_its_demand(umbrella: Path) -> None:
    """umbrella's first node group at maxSize 1, its model on it at minReplicas 2 (the
    planner spreads those replicas over two nodes)."""
    edit(umbrella, "      minSize: 2\n      maxSize: 3\n", "      minSize: 1\n      maxSize: 1\n")
    edit(
        umbrella,
        "      minReplicas: 4\n      maxReplicas: 8\n",
        "      minReplicas: 2\n      maxReplicas: 2\n",
    )
    edit(umbrella, '"3g.40gb": 16', '"3g.40gb": 4')


def errors(tenants: Path, stacks: Path, platform: PlatformSettings) -> list[tuple[str, str]]:
    reg = check([tenants], platform, stacks_dir=stacks, tenants_dir=tenants)
    return [(p.code, p.path) for p in reg.problems if p.severity == "error"]


def test_a_node_group_too_small_to_spread_replicas_is_refused_at_its_max_size(
    dirs: tuple[Path, Path], platform: PlatformSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16: a dedicated node group of maxSize 1 and a model with minReplicas 2: the
    planner spreads the replicas over two nodes, so the platform cannot render."""
    tenants, stacks = dirs
    umbrella = tenants / "umbrella.yaml"
    too_small_for_its_demand(umbrella)
    reg = check([tenants], platform, stacks_dir=stacks, tenants_dir=tenants)
    (p,) = [p for p in reg.problems if p.severity == "error"]
    assert (p.file, p.code, p.path) == (
        str(umbrella),
        "node_group_too_small",
        "spec.nodeGroups[0].maxSize",
    )
    lines = umbrella.read_text().splitlines()
    first_max_size = 1 + next(i for i, t in enumerate(lines) if "maxSize:" in t)
    assert p.line == first_max_size and p.value == 1
    assert p.accepted is not None and ">= 2" in p.accepted
    assert "umbrella" not in reg.tenants
    # validate, plan and render platform agree
    d = ["--tenants", str(tenants), "--stacks", str(stacks)]
    assert main(["validate", str(tenants), "--stacks", str(stacks)]) == 1
    assert main(["plan", *d]) == 1
    assert main(["render", "platform", "--out", str(tenants.parent / "out"), *d]) == 1
    assert "spec.nodeGroups[0].maxSize" in capsys.readouterr().err
    with pytest.raises(SpecError):
        record_platform(tenants, stacks)


def test_a_shared_pool_too_small_is_refused_at_the_platform_setting(
    dirs: tuple[Path, Path], platform: PlatformSettings
) -> None:
    tenants, stacks = dirs
    edit(stacks / "Pulumi.platform.yaml", "maxNodes: 8", "maxNodes: 1")
    from tenantry.spec import load_platform

    small = load_platform(stacks)
    reg = check([tenants], small, stacks_dir=stacks, tenants_dir=tenants)
    (p,) = [p for p in reg.problems if p.severity == "error"]
    config = (stacks / "Pulumi.platform.yaml").read_text().splitlines()
    max_nodes = 1 + next(i for i, t in enumerate(config) if "maxNodes: 1" in t)
    assert (p.file, p.path, p.code, p.line) == (
        str(stacks / "Pulumi.platform.yaml"),
        "tenantry:platform.sharedPools[0].maxNodes",
        "shared_pool_too_small",
        max_nodes,
    )
    assert "acme" in p.message and "initech" in p.message  # the tenants on the pool
    # the tenants' own files are fine: they still render; the platform does not
    assert {"acme", "globex", "initech", "umbrella"} == set(reg.tenants)


def test_platform_names_beyond_aws_limits(dirs: tuple[Path, Path]) -> None:
    tenants, stacks = dirs
    edit(stacks / "Pulumi.platform.yaml", "environment: prod", "environment: " + "e" * 40)
    edit(stacks / "Pulumi.platform.yaml", "- name: h100", "- name: " + "p" * 40)
    edit(stacks / "Pulumi.platform.yaml", "pool: h100", "pool: " + "p" * 40)  # the shared LLM's
    from tenantry.spec import load_platform

    found = errors(tenants, stacks, load_platform(stacks))
    # tenantry-platform-<env>-vectors is over RDS's 63; <env>-h100 over EKS's 63
    assert ("name_too_long", "tenantry:platform.environment") in found
    assert ("name_too_long", "tenantry:platform.sharedPools[0].name") in found


def test_missing_and_stale_stack_configs_are_warnings_naming_the_command(
    dirs: tuple[Path, Path], platform: PlatformSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(dirs[0].parent)  # the configs name tenants/<name>.yaml
    tenants, stacks = Path("tenants"), Path("stacks")
    (stacks / "Pulumi.globex.yaml").unlink()
    edit(stacks / "Pulumi.acme.yaml", "CC-1042", "CC-0000")
    reg = check([tenants], platform, stacks_dir=stacks, tenants_dir=tenants)
    found = {(Path(p.file).name, p.code) for p in reg.problems if p.code.startswith("stack_")}
    assert found == {("globex.yaml", "stack_config_missing"), ("acme.yaml", "stack_config_stale")}
    assert all(
        "tenantry stacks --write" in p.message and p.severity == "warning"
        for p in reg.problems
        if p.code.startswith("stack_")
    )


def test_a_stack_config_is_current_however_the_directories_are_spelled(
    dirs: tuple[Path, Path], platform: PlatformSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config names the tenant file relative to the project root (where the stack
    program resolves it): absolute paths, or running from elsewhere, change nothing."""
    from tenantry.cli.main import main

    tenants, stacks = dirs
    monkeypatch.chdir(tenants.parent)
    assert main(["stacks", "--write", "--tenants", "tenants", "--stacks", "stacks"]) == 0
    monkeypatch.chdir("/")
    for t, s in ((tenants.resolve(), stacks.resolve()), (tenants / ".." / "tenants", stacks)):
        reg = check([t], platform, stacks_dir=s, tenants_dir=t)
        assert not [p for p in reg.problems if p.code.startswith("stack_")]
        assert main(["stacks", "--tenants", str(t), "--stacks", str(s)]) == 0


def _base(tenants: Path) -> BaseRef:
    return BaseRef("main", base_models({p.name: p.read_bytes() for p in tenants.glob("*.yaml")}))


def test_a_canary_on_a_first_deployment_is_refused_with_a_base(
    dirs: tuple[Path, Path], platform: PlatformSettings
) -> None:
    """Issue 16: KServe gives the first revision all the traffic, so a brand-new model's
    '10% canary' would serve everything."""
    tenants, stacks = dirs
    base = _base(tenants)
    globex = tenants / "globex.yaml"
    doc = yaml.safe_load(globex.read_text())
    new = {
        **doc["spec"]["models"][1],
        "name": "sentiment",
        "canary": {"version": "2", "trafficPercent": 10},
    }
    doc["spec"]["models"].append(new)
    globex.write_text(yaml.safe_dump(doc, sort_keys=False))
    reg = check([tenants], platform, stacks_dir=stacks, base=base)
    (p,) = [p for p in reg.problems if p.severity == "error"]
    assert (p.code, p.path) == ("canary_first_deployment", "spec.models[2].canary")
    assert "100%" in p.message and p.line is not None
    # without a base nothing can know what runs: the same file is accepted
    assert not [p for p in check([tenants], platform).problems if p.severity == "error"]


def test_a_canary_whose_stable_version_does_not_run_at_the_base(
    dirs: tuple[Path, Path], platform: PlatformSettings
) -> None:
    tenants, _ = dirs
    base = _base(tenants)
    assert base.tenants["acme"]["fraud-detector"] == DeployedModel("12", "13")
    acme = tenants / "acme.yaml"
    edit(acme, 'version: "12"', 'version: "14"')
    edit(acme, 'canary: {version: "13"', 'canary: {version: "15"')
    reg = check([tenants], platform, base=base)
    codes = [(p.code, p.path) for p in reg.problems if p.severity == "error"]
    assert codes == [("canary_stable_not_deployed", "spec.models[0].canary")]
    # moving the canary on while the same stable version runs is fine
    edit(acme, 'version: "14"', 'version: "12"')
    assert not [p for p in check([tenants], platform, base=base).problems if p.severity == "error"]


def test_validate_takes_the_base_from_git(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import git

    tenants, _ = dirs
    root = tenants.parent
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    monkeypatch.chdir(root)
    globex = tenants / "globex.yaml"
    edit(
        globex,
        "    - name: language-id\n",
        '    - name: language-id\n      canary: {version: "2", trafficPercent: 5}\n',
    )
    edit(globex, "    - name: language-id\n      canary", "    - name: lang\n      canary")
    assert main(["validate", "tenants", "--stacks", "stacks", "--base", "main"]) == 1
    err = capsys.readouterr().err
    assert "spec.models[1].canary: model 'lang' does not run at main" in err
    assert main(["validate", "tenants", "--stacks", "stacks", "--base", "nope"]) == 2
    assert "unknown git ref 'nope'" in capsys.readouterr().err


def test_an_isolated_tenants_own_nodes_count_against_the_pools_max_nodes(
    dirs: tuple[Path, Path],
) -> None:
    """h100's own nodes (2) and initech's nodes carved from it (2) fit maxNodes 4 each alone
    but not together at 3: the pool's setting is refused, naming initech among its tenants."""
    tenants, stacks = dirs
    edit(stacks / "Pulumi.platform.yaml", "maxNodes: 8", "maxNodes: 3")
    from tenantry.spec import load_platform

    reg = check([tenants], load_platform(stacks), stacks_dir=stacks, tenants_dir=tenants)
    (p,) = [p for p in reg.problems if p.severity == "error"]
    assert (p.path, p.code) == (
        "tenantry:platform.sharedPools[0].maxNodes",
        "shared_pool_too_small",
    )
    assert "4 node(s)" in p.message and "2 for tenant initech" in p.message, p.message
    assert "initech" in p.message.rsplit("tenants with demand on it:", 1)[1]
    assert p.accepted == ">= 4, or less demand on the pool"


def test_an_isolated_tenants_node_group_name_is_checked(dirs: tuple[Path, Path]) -> None:
    """initech's own nodes in h100 are the node group tenantry-<tenant>-pool-<pool>: a
    tenant and a pool name that together make it longer than EKS's 63 characters are refused
    before anything runs (each name alone is within its own limit)."""
    tenants, stacks = dirs
    pool = "h100" + "x" * 16  # 20 characters
    edit(stacks / "Pulumi.platform.yaml", "- name: h100", f"- name: {pool}")
    edit(stacks / "Pulumi.platform.yaml", "pool: h100", f"pool: {pool}")  # the shared LLM's
    long = "initech" + "x" * 33  # 40 characters, the longest tenant name
    text = (tenants / "initech.yaml").read_text().replace("name: initech", f"name: {long}", 1)
    (tenants / "initech.yaml").unlink()
    (tenants / f"{long}.yaml").write_text(text)
    from tenantry.spec import load_platform

    reg = check([tenants], load_platform(stacks), stacks_dir=stacks, tenants_dir=tenants)
    found = [
        p
        for p in reg.problems
        if p.code == "name_too_long" and f"own nodes in shared pool {pool!r}" in p.message
    ]
    assert [(p.path, p.file) for p in found] == [
        ("metadata.name", str(tenants / f"{long}.yaml"))
    ], found
    assert f"tenantry-{long}-pool-{pool}" in found[0].message


def test_general_nodes_the_catalog_does_not_know_are_a_warning_not_a_silent_skip(
    dirs: tuple[Path, Path],
) -> None:
    """globex runs a CPU-only model on the general nodes: with a systemInstanceType the
    catalog does not know, its replicas cannot be checked against a node, and validate says
    so at the setting's line (a warning: the tenants stay valid)."""
    from tenantry.spec.platform import load_platform

    tenants, stacks = dirs
    edit(
        stacks / "Pulumi.platform.yaml",
        "      create: false",
        "      create: false\n      systemInstanceType: c7i.48xlarge",
    )
    platform = load_platform(stacks)
    text = (stacks / "Pulumi.platform.yaml").read_text()
    reg = check([tenants], platform, stacks_dir=stacks, tenants_dir=tenants)
    found = [p for p in reg.problems if p.code == "general_nodes_unknown"]
    assert len(found) == 1 and found[0].severity == "warning"
    p = found[0]
    assert (p.path, p.value, p.line) == (
        "tenantry:platform.cluster.systemInstanceType",
        "c7i.48xlarge",
        text[: text.index("systemInstanceType: c7i")].count("\n") + 1,
    )
    assert "globex" in p.message and "acme" not in p.message and "m7i.xlarge" in (p.accepted or "")
    assert "globex" in reg.tenants
    plain = check([tenants], load_platform(ROOT / "stacks"), stacks_dir=ROOT / "stacks")
    assert not [q for q in plain.problems if q.code == "general_nodes_unknown"]


def test_the_fleet_checks_count_a_tenant_whose_errors_leave_its_demand_known(
    dirs: tuple[Path, Path], platform: PlatformSettings
) -> None:
    """umbrella's owner is not an e-mail address (a structural error), or its region is not
    the platform's (a rule's error), and its node group cannot hold its guaranteed demand:
    both in one run. With an error in what the plan reads (a model's gpu), the fleet's
    checks leave the tenant out and say nothing of it."""
    tenants, stacks = dirs
    umbrella = tenants / "umbrella.yaml"
    too_small_for_its_demand(umbrella)
    text = umbrella.read_text()
    owner = next(line for line in text.splitlines() if line.startswith("  owner: "))
    edit(umbrella, owner, "  owner: nobody")
    reg = check([tenants], platform, stacks_dir=stacks, tenants_dir=tenants)
    found = {(p.code, p.path, p.line) for p in reg.problems if p.severity == "error"}
    lines = umbrella.read_text().splitlines()
    assert found == {
        ("string_pattern_mismatch", "metadata.owner", lines.index("  owner: nobody") + 1),
        (
            "node_group_too_small",
            "spec.nodeGroups[0].maxSize",
            1 + next(i for i, t in enumerate(lines) if "maxSize:" in t),
        ),
    }
    assert "umbrella" not in reg.tenants and "umbrella" not in {
        s.tenant for pool in reg.fleet.pools for g in pool.gpus for s in g.slots
    }
    # a rule's error outside what the plan reads (the region) leaves it known too
    edit(umbrella, "  owner: nobody", owner)
    edit(umbrella, "  region: us-east-1", "  region: eu-west-1")
    reg = check([tenants], platform, stacks_dir=stacks, tenants_dir=tenants)
    found = {(p.code, p.path) for p in reg.problems if p.severity == "error"}
    assert found == {
        ("region_unsupported", "spec.region"),
        ("node_group_too_small", "spec.nodeGroups[0].maxSize"),
    }
    edit(umbrella, "      gpu: 3g.40gb", "      gpu: 3 slices")
    reg = check([tenants], platform, stacks_dir=stacks, tenants_dir=tenants)
    assert "node_group_too_small" not in {p.code for p in reg.problems}


def test_a_rollout_of_a_file_with_a_structural_error_is_judged_in_the_same_run(
    dirs: tuple[Path, Path], platform: PlatformSettings
) -> None:
    """acme's canary moves its stable version off what runs at the base while its owner is
    no e-mail address: both errors in one run; a model whose canary did not parse says
    nothing."""
    tenants, _ = dirs
    base = _base(tenants)
    acme = tenants / "acme.yaml"
    edit(acme, 'version: "12"', 'version: "14"')
    edit(acme, 'canary: {version: "13"', 'canary: {version: "15"')
    edit(acme, "  owner: ml-platform@acme.example", "  owner: ml-platform")
    reg = check([tenants], platform, base=base)
    codes = {(p.code, p.path) for p in reg.problems if p.severity == "error"}
    assert codes == {
        ("string_pattern_mismatch", "metadata.owner"),
        ("canary_stable_not_deployed", "spec.models[0].canary"),
    }
    (p,) = [p for p in reg.problems if p.code == "canary_stable_not_deployed"]
    assert p.file == str(acme) and p.line is not None
    edit(acme, "trafficPercent: 10", "trafficPercent: ten")
    codes = {(p.code, p.path) for p in check([tenants], platform, base=base).problems}
    assert ("canary_stable_not_deployed", "spec.models[0].canary") not in codes


def test_a_node_group_too_small_for_whole_llm_pods_is_refused_at_its_max_size(
    dirs: tuple[Path, Path], platform: PlatformSettings
) -> None:
    """An LLM replica of gpus: 3 is one pod whose GPUs all come from one node: 5 replicas
    are 15 GPUs, which 2 nodes of 8 would hold by count, but a node holds two such pods, so
    the node group needs 3 nodes and maxSize 2 is refused (validate and the planner agree)."""
    tenants, stacks = dirs
    umbrella = tenants / "umbrella.yaml"
    d = yaml.safe_load(umbrella.read_text())
    d["spec"]["models"] = [m for m in d["spec"]["models"] if m["gpu"] != "gpu"]
    d["spec"]["quotas"]["gpus"]["gpu"] = 15
    # room in the CPU and memory quotas for the replicas' own (defaults: 10 cores and the
    # GPUs' memory + 18 GiB each), so the node group is the one thing too small
    d["spec"]["quotas"]["cpu"] = max(d["spec"]["quotas"].get("cpu", 0), 256)
    d["spec"]["quotas"]["memoryGiB"] = max(d["spec"]["quotas"].get("memoryGiB", 0), 4096)
    h200 = next(i for i, g in enumerate(d["spec"]["nodeGroups"]) if g["name"] == "h200")
    d["spec"]["nodeGroups"][h200]["maxSize"] = 2
    d["spec"]["llms"] = [
        {
            "name": "chat",
            "path": "models/chat/v1/",
            "digest": "sha256:" + "9e" * 32,
            "gpu": "gpu",
            "gpus": 3,
            "replicas": 5,
        }
    ]
    umbrella.write_text(yaml.safe_dump(d, sort_keys=False))
    reg = check([tenants], platform, stacks_dir=stacks, tenants_dir=tenants)
    errors = [p for p in reg.problems if p.severity == "error"]
    assert len(errors) == 1, [(e.code, e.path) for e in errors]
    (p,) = errors
    assert (p.code, p.path, p.value) == (
        "node_group_too_small",
        f"spec.nodeGroups[{h200}].maxSize",
        2,
    )
    assert p.accepted is not None and ">= 3" in p.accepted
    assert "an LLM replica's GPUs all go to one node" in p.message
