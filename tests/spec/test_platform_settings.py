"""The platform stack config: every problem names the file, line and field (one line each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantry.spec.platform import PlatformError, load_platform, platform_problem
from tests.conftest import STACKS

TEXT = (STACKS / "Pulumi.platform.yaml").read_text()


def settings_dir(tmp_path: Path, text: str) -> Path:
    (tmp_path / "Pulumi.platform.yaml").write_text(text)
    return tmp_path


def problems(stacks: Path) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PlatformError) as info:
        load_platform(stacks)
    assert all("\n" not in p.render() for p in info.value.problems)
    return [(p.line, p.path, p.code) for p in info.value.problems]


def test_every_bad_field_with_its_line(tmp_path: Path) -> None:
    text = TEXT.replace('accountId: "111122223333"', 'accountId: "1111"').replace(
        "maxNodes: 8", "maxNodes: 0"
    )
    assert problems(settings_dir(tmp_path, text)) == [
        (7, "tenantry:platform.accountId", "string_pattern_mismatch"),
        (16, "tenantry:platform.sharedPools[0].maxNodes", "greater_than_equal"),
    ]


def test_unknown_field_and_bad_template(tmp_path: Path) -> None:
    text = TEXT.replace(
        "    gatewayNamespace: istio-system\n",
        "    gatewayNamespace: istio-system\n    gatewayNamespaces: x\n"
        "    ingress: {domainTemplate: '{{.Name}}.{{.Domain}}'}\n",
    )
    found = problems(settings_dir(tmp_path, text))
    assert (23, "tenantry:platform.gatewayNamespaces", "extra_forbidden") in found
    assert (24, "tenantry:platform.ingress", "value_error") in found


def test_missing_file_bad_yaml_and_missing_key(tmp_path: Path) -> None:
    assert problems(tmp_path / "nowhere") == [(None, "", "not_found")]
    assert problems(settings_dir(tmp_path, "config:\n  a: [\n")) == [(3, "", "yaml_invalid")]
    assert problems(settings_dir(tmp_path, "config:\n  aws:region: x\n")) == [
        (2, "tenantry:platform", "missing")
    ]


def test_a_problem_about_a_settings_field_gets_its_line() -> None:
    p = platform_problem(STACKS, "sharedPools[1].maxNodes", "x", "too small", 4)
    assert (p.file, p.line, p.path) == (
        str(STACKS / "Pulumi.platform.yaml"),
        20,
        "tenantry:platform.sharedPools[1].maxNodes",
    )


def test_a_cross_field_check_lands_on_the_field_it_names(tmp_path: Path) -> None:
    """A model validator reports at its object with the whole object as the value; one whose
    message names its field (``llmBaseModels[llama-3-8b].pool: ...``) is moved there."""
    text = TEXT.replace("        pool: h100", "        pool: nope")
    with pytest.raises(PlatformError) as info:
        load_platform(settings_dir(tmp_path, text))
    (p,) = info.value.problems
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "pool: nope" in t)
    assert (p.line, p.path, p.value) == (line, "tenantry:platform.llmBaseModels[0].pool", "nope")
    assert p.message.startswith("'nope' is not a shared pool") and "{" not in p.render()


def named_lists(model: type, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], type]]:
    """Every list of named entries (models with a ``name`` field) in the settings, at any
    depth, by its camelCase path."""
    import typing

    import pydantic

    out: list[tuple[tuple[str, ...], type]] = []
    assert issubclass(model, pydantic.BaseModel)
    for name, f in model.model_fields.items():
        key = (*path, f.alias or name)
        t = f.annotation
        for arg in (t, *typing.get_args(t)):
            if typing.get_origin(arg) is list:
                (item,) = typing.get_args(arg)
                if isinstance(item, type) and "name" in getattr(item, "model_fields", {}):
                    out.append((key, item))
            elif isinstance(arg, type) and issubclass(arg, pydantic.BaseModel):
                out += named_lists(arg, key)
    return out


EXAMPLE_ENTRIES = {  # an entry for the lists the example leaves empty
    ("rollout", "cohorts"): {"name": "early", "tiers": ["shared"]},
}


def test_every_list_of_named_entries_takes_each_name_once(tmp_path: Path) -> None:
    """A repeated shared pool once passed validate and broke render (duplicate Pulumi URNs);
    every named list (found from the model, not listed by hand) refuses a repeated name with
    the file, the line of the list and the repeated name."""
    import yaml

    from tenantry.spec import PlatformSettings

    found = named_lists(PlatformSettings)
    assert {k for k, _ in found} >= {("sharedPools",), ("tokenIssuers",), ("llmBaseModels",)}
    for key, _ in found:
        doc = yaml.safe_load(TEXT)
        parent = doc["config"]["tenantry:platform"]
        for k in key[:-1]:
            parent = parent.setdefault(k, {})
        entries = parent.get(key[-1]) or [EXAMPLE_ENTRIES[key]]
        parent[key[-1]] = [*entries, entries[0]]
        stacks = settings_dir(tmp_path, yaml.safe_dump(doc, sort_keys=False))
        with pytest.raises(PlatformError) as info:
            load_platform(stacks)
        (p,) = info.value.problems
        assert p.path == "tenantry:platform." + ".".join(key), (key, p.render())
        assert p.line is not None and repr(entries[0]["name"]) in p.message, p.render()
        assert "names must be unique" in p.message


def test_the_platform_needs_an_admin(tmp_path: Path) -> None:
    """The tenant key policies need at least one administrator: an empty or missing admins
    list once passed validate and broke plan with an internal error."""
    text = TEXT.replace(
        "    admins:\n      - arn:aws:iam::111122223333:role/platform-admin\n", "    admins: []\n"
    )
    assert "admins: []" in text
    ((line, path, code),) = problems(settings_dir(tmp_path, text))
    assert (path, code) == ("tenantry:platform.admins", "too_short") and line is not None


@pytest.mark.parametrize("tier", ["isolated", "dedicated"])
def test_a_base_model_serves_no_tier_that_does_not_share_gpus(tmp_path: Path, tier: str) -> None:
    """A shared base model's runtime runs every granted tenant's adapter in one vLLM process
    on the shared pool's GPUs (docs/llm.md); the isolated and dedicated tiers promise GPUs
    (or nodes) no other tenant shares and every pod of the tenant on its own nodes
    (docs/gpu-planner.md), so a base model listing them would break that promise for every
    adapter those tenants declare, with validate, plan and the guardrails all passing."""
    text = TEXT.replace("tiers: [shared, premium]", f"tiers: [shared, premium, {tier}]")
    assert text != TEXT
    with pytest.raises(PlatformError) as info:
        load_platform(settings_dir(tmp_path, text))
    (p,) = info.value.problems
    line = next(i for i, t in enumerate(text.splitlines(), 1) if f"premium, {tier}]" in t)
    assert (p.line, p.path) == (line, "tenantry:platform.llmBaseModels[0].tiers")
    assert f"'{tier}'" in p.message and "shared, premium" in p.render()


def test_a_base_model_replica_fits_the_gpus_of_one_node(tmp_path: Path) -> None:
    """A base model's replica is one pod asking for all its ``gpus``; pool h100 is
    p5.48xlarge, 8 GPUs a node."""
    text = TEXT.replace('        gpu: 3g.40gb           # one MIG slice per replica',
                        '        gpu: gpu\n        gpus: 9')  # fmt: skip
    assert text != TEXT
    with pytest.raises(PlatformError) as info:
        load_platform(settings_dir(tmp_path, text))
    (p,) = info.value.problems
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "gpus: 9" in t)
    assert (p.line, p.path) == (line, "tenantry:platform.llmBaseModels[0].gpus")
    assert "p5.48xlarge" in p.message and "8" in p.render()
    load_platform(settings_dir(tmp_path, text.replace("gpus: 9", "gpus: 8")))


def test_a_placeholder_platform_cost_center_is_refused(tmp_path: Path) -> None:
    """The platform's own resources carry its cost center: no placeholder there either."""
    text = TEXT.replace("costCenter: platform ", "costCenter: unassigned ")
    line = TEXT[: TEXT.index("costCenter: platform ")].count("\n") + 1
    assert problems(settings_dir(tmp_path, text)) == [
        (line, "tenantry:platform.costCenter", "cost_center_placeholder")
    ]


def test_a_cross_field_check_runs_beside_a_field_error_of_its_object(tmp_path: Path) -> None:
    """pydantic runs a model's cross-field check only when all its fields parse: the
    cluster's bad version would hide that creating it needs subnets until a second run."""
    text = TEXT.replace("      create: false ", '      create: true\n      version: "2" ', 1)
    lines = text.splitlines()
    create = next(i for i, line in enumerate(lines) if "create: true" in line)
    assert problems(settings_dir(tmp_path, text)) == [
        (create + 2, "tenantry:platform.cluster.version", "string_pattern_mismatch"),
        (create, "tenantry:platform.cluster.subnetIds", "value_error"),
    ]
    # a check whose fields did not parse says nothing
    text = TEXT.replace("      create: false ", "      create: maybe ", 1)
    assert problems(settings_dir(tmp_path, text)) == [
        (create + 1, "tenantry:platform.cluster.create", "bool_parsing")
    ]


def test_a_placeholder_environment_is_refused(tmp_path: Path) -> None:
    """environment is a cost-allocation tag on every resource too."""
    text = TEXT.replace("environment: prod", "environment: tbd")
    line = TEXT[: TEXT.index("environment: prod")].count("\n") + 1
    assert problems(settings_dir(tmp_path, text)) == [
        (line, "tenantry:platform.environment", "environment_placeholder")
    ]


def test_a_list_check_runs_beside_an_error_in_one_of_its_entries(tmp_path: Path) -> None:
    """pydantic runs a list's own check (names unique) only when every entry parses: a
    repeated shared pool name and a bad maxNodes in one pool, in one run."""
    text = TEXT.replace("      - name: a100\n", "      - name: h100\n", 1).replace(
        "maxNodes: 8", "maxNodes: lots", 1
    )
    found = problems(settings_dir(tmp_path, text))
    assert [(path, code) for _, path, code in found] == [
        ("tenantry:platform.sharedPools[0].maxNodes", "int_parsing"),
        ("tenantry:platform.sharedPools", "value_error"),
    ]
    # an entry whose name did not parse leaves the names unjudged
    text = text.replace("      - name: h100 ", "      - name: [h100] ", 1)
    codes = [code for _, _, code in problems(settings_dir(tmp_path, text))]
    assert "value_error" not in codes
