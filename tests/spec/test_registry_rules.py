"""Rules across tenant files (tenantry.spec.registry_rules) and their per-file counterpart
for one tenant's own models: each reported in every file involved, with lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tenantry.spec import PlatformSettings, load_registry
from tests.conftest import TENANTS

from .helpers import Doc, codes, doc, problems_for, variant


def write(d: Doc, directory: Path) -> Path:
    path = directory / f"{d['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


def renamed(name: str, base: str = "globex") -> Doc:
    def change(d: Doc) -> None:
        d["metadata"]["name"] = name
        d["spec"]["access"]["allowedNamespaces"] = []

    return variant(base, change)


def examples(tmp_path: Path) -> Path:
    out = tmp_path / "tenants"
    shutil.copytree(TENANTS, out, ignore=shutil.ignore_patterns("*.json"))
    return out


def test_a_new_tenant_named_like_a_trusted_caller_namespace(
    tmp_path: Path, platform: PlatformSettings
) -> None:
    """acme trusts callers from namespace acme-apps; a tenant acme-apps would be trusted."""
    tenants = examples(tmp_path)
    write(renamed("acme-apps"), tenants)
    reg = load_registry([tenants], platform)
    found = {(Path(p.file).name, p.code, p.path) for p in reg.problems if p.severity == "error"}
    assert found == {
        ("acme.yaml", "namespace_is_tenant", "spec.access.allowedNamespaces[0]"),
        ("acme-apps.yaml", "namespace_is_tenant", "metadata.name"),
    }
    by_file = {Path(p.file).name: p for p in reg.problems if p.code == "namespace_is_tenant"}
    lines = (tenants / "acme.yaml").read_text().splitlines()
    line = 1 + next(i for i, t in enumerate(lines) if "allowedNamespaces: [acme-apps]" in t)
    assert by_file["acme.yaml"].line == line
    assert f"{tenants / 'acme-apps.yaml'}:4" in by_file["acme.yaml"].message
    assert f"{tenants / 'acme.yaml'}:{line}" in by_file["acme-apps.yaml"].message
    assert "acme" not in reg.tenants and "acme-apps" not in reg.tenants
    assert {"globex", "initech", "umbrella"} <= set(reg.tenants)


def test_a_tenant_that_trusts_another_tenants_namespace(
    tmp_path: Path, platform: PlatformSettings
) -> None:
    """The other order: the tenant exists, and a file adds its name to allowedNamespaces."""
    tenants = examples(tmp_path)
    globex = variant("globex", lambda d: d["spec"]["access"].update(allowedNamespaces=["initech"]))
    write(globex, tenants)
    reg = load_registry([tenants], platform)
    found = {(Path(p.file).name, p.code) for p in reg.problems if p.severity == "error"}
    assert found == {
        ("globex.yaml", "namespace_is_tenant"),
        ("initech.yaml", "namespace_is_tenant"),
    }


def test_two_tenants_whose_models_get_the_same_external_host(
    tmp_path: Path, platform: PlatformSettings
) -> None:
    """fraud-detector of acme and fraud of detector-acme: fraud-detector-acme.example.com."""
    tenants = examples(tmp_path)
    d = renamed("detector-acme")
    d["spec"]["models"][0]["name"] = "fraud"
    write(d, tenants)
    reg = load_registry([tenants], platform)
    errors = [p for p in reg.problems if p.severity == "error"]
    assert {(Path(p.file).name, p.code, p.path) for p in errors} == {
        ("acme.yaml", "host_collision", "spec.models[0].name"),
        ("detector-acme.yaml", "host_collision", "spec.models[0].name"),
    }
    assert all("'fraud-detector-acme.example.com'" in p.message for p in errors)
    assert all(p.line is not None for p in errors)


def test_hosts_that_differ_only_by_template_do_not_collide(
    tmp_path: Path, platform: PlatformSettings
) -> None:
    """With a template that separates name and namespace by a dot, the same two tenants get
    distinct hosts: the rule follows the platform's settings, not a fixed pattern."""
    from tenantry.spec.platform import Ingress

    dotted = platform.model_copy(
        update={"ingress": Ingress(domain_template="{{.Name}}.{{.Namespace}}.{{.Domain}}")}
    )
    tenants = examples(tmp_path)
    d = renamed("detector-acme")
    d["spec"]["models"][0]["name"] = "fraud"
    write(d, tenants)
    reg = load_registry([tenants], dotted)
    assert not [p for p in reg.problems if p.code == "host_collision"]


def test_one_tenants_models_must_not_take_each_others_routes(platform: PlatformSettings) -> None:
    base = doc("globex")
    model = base["spec"]["models"][1]  # CPU-only: no quota in the way

    def add(name: str) -> Doc:
        return variant("globex", lambda d: d["spec"]["models"].append({**model, "name": name}))

    first = model["name"]
    for name in (f"{first}-predictor", f"prev-{first}", f"latest-{first}"):
        assert ("host_collision", "spec.models[2].name") in codes(problems_for(add(name), platform))
    assert not codes(problems_for(add(f"{first}-v2"), platform))


def test_two_tenants_whose_adapters_get_the_same_served_name(
    tmp_path: Path, platform: PlatformSettings
) -> None:
    """support-agent of acme and agent of acme-support are both served as
    acme-support-agent on the shared base model."""
    tenants = examples(tmp_path)
    d = renamed("acme-support", base="acme")
    d["spec"]["llmAdapters"][0]["name"] = "agent"
    write(d, tenants)
    reg = load_registry([tenants], platform)
    errors = [p for p in reg.problems if p.severity == "error"]
    assert {(Path(p.file).name, p.code, p.path) for p in errors} == {
        ("acme.yaml", "served_name_collision", "spec.llmAdapters[0].name"),
        ("acme-support.yaml", "served_name_collision", "spec.llmAdapters[0].name"),
    }
    assert all("'acme-support-agent'" in p.message and p.line for p in errors)


def test_two_tenants_whose_node_groups_get_the_same_aws_name(
    tmp_path: Path, platform: PlatformSettings
) -> None:
    """umbrella's node group big-h200 and umbrella-big's h200 are both the EKS node group
    (and launch template) tenantry-umbrella-big-h200: names unique per cluster (and region),
    so the second stack's pulumi up fails on a name the first one holds."""
    tenants = examples(tmp_path)
    umbrella = variant("umbrella", lambda d: None)
    umbrella["spec"]["nodeGroups"][1]["name"] = "big-h200"
    write(umbrella, tenants)
    big = variant("umbrella", lambda d: None)
    big["metadata"]["name"] = "umbrella-big"
    big["spec"]["access"]["allowedNamespaces"] = []
    write(big, tenants)
    reg = load_registry([tenants], platform)
    errors = [p for p in reg.problems if p.severity == "error"]
    assert {(Path(p.file).name, p.code, p.path) for p in errors} == {
        ("umbrella.yaml", "aws_name_collision", "spec.nodeGroups[1].name"),
        ("umbrella-big.yaml", "aws_name_collision", "spec.nodeGroups[1].name"),
    }
    assert all("'tenantry-umbrella-big-h200'" in p.message and p.line for p in errors)


def test_a_node_group_named_like_an_isolated_tenants_own_nodes(
    tmp_path: Path, platform: PlatformSettings
) -> None:
    """initech (isolated, no node groups) gets its own nodes of shared pool h100 as node group
    tenantry-initech-pool-h100; tenant initech-pool's node group h100 has that name too."""
    tenants = examples(tmp_path)
    other = variant("umbrella", lambda d: None)
    other["metadata"]["name"] = "initech-pool"
    other["spec"]["access"]["allowedNamespaces"] = []
    other["spec"]["nodeGroups"][0]["name"] = "h100"
    write(other, tenants)
    reg = load_registry([tenants], platform)
    errors = [p for p in reg.problems if p.severity == "error"]
    assert {(Path(p.file).name, p.code, p.path) for p in errors} == {
        ("initech.yaml", "aws_name_collision", "metadata.name"),
        ("initech-pool.yaml", "aws_name_collision", "spec.nodeGroups[0].name"),
    }
    assert all("'tenantry-initech-pool-h100'" in p.message and p.line for p in errors)
