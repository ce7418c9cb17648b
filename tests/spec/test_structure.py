"""Structural errors (types, unknown keys, patterns): exact type, location, value, accepted."""

from __future__ import annotations

from typing import Any

import pytest

from tenantry.spec import PlatformSettings

from .helpers import Doc, codes, problems_for, variant


def _only(problems, code):  # type: ignore[no-untyped-def]
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, [p.render() for p in problems]
    return found[0]


def test_unknown_key_lists_accepted_fields(platform: PlatformSettings) -> None:
    p = _only(
        problems_for(variant("acme", lambda d: d["spec"]["models"][0].update(gpus="x")), platform),
        "extra_forbidden",
    )
    assert p.path == "spec.models[0].gpus"
    assert p.value == "gpus"
    assert p.accepted is not None and "gpu" in p.accepted.split(", ")
    assert "maxBatchSize" in p.accepted and "p99LatencyMs" in p.accepted


def test_wrong_enum_names_choices(platform: PlatformSettings) -> None:
    p = _only(
        problems_for(variant("acme", lambda d: d["spec"].update(tier="gold")), platform),
        "literal_error",
    )
    assert (p.path, p.value) == ("spec.tier", "gold")
    assert p.accepted == "'shared', 'premium', 'isolated' or 'dedicated'"


def test_missing_cost_center(platform: PlatformSettings) -> None:
    p = _only(
        problems_for(variant("acme", lambda d: d["metadata"].pop("costCenter")), platform),
        "missing",
    )
    assert p.path == "metadata.costCenter"


@pytest.mark.parametrize("name", ["ab", "Acme", "acme_corp", "-acme", "a" * 41, "acme-"])
def test_bad_tenant_names(platform: PlatformSettings, name: str) -> None:
    def change(d: Doc) -> None:
        d["metadata"]["name"] = name

    problems = problems_for(variant("acme", change), platform, stem=name)
    assert [p.path for p in problems] == ["metadata.name"]
    assert problems[0].code in {"string_pattern_mismatch", "string_too_short", "string_too_long"}
    assert problems[0].accepted


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::*:role/x",
        "arn:aws:iam::111122223333:role/*",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::12345:role/x",
        "role/x",
    ],
)
def test_iam_arns_well_formed_without_wildcards(platform: PlatformSettings, arn: str) -> None:
    p = _only(
        problems_for(variant("acme", lambda d: d["spec"]["access"].update(admins=[arn])), platform),
        "string_pattern_mismatch",
    )
    assert p.path == "spec.access.admins[0]"
    assert p.accepted is not None and "no wildcards" in p.accepted


@pytest.mark.parametrize(
    ("value", "code", "accepted"),
    [
        (0, "greater_than_equal", ">= 1"),
        (100, "less_than_equal", "<= 99"),
        ("ten", "int_parsing", "an integer"),
    ],
)
def test_canary_traffic_percent(
    platform: PlatformSettings, value: object, code: str, accepted: str
) -> None:
    def change(d: Doc) -> None:
        d["spec"]["models"][0]["canary"]["trafficPercent"] = value

    p = _only(problems_for(variant("acme", change), platform), code)
    assert (p.path, p.value, p.accepted) == (
        "spec.models[0].canary.trafficPercent",
        value,
        accepted,
    )


def test_bad_gpu_quota_key(platform: PlatformSettings) -> None:
    p = _only(
        problems_for(
            variant("acme", lambda d: d["spec"]["quotas"].update(gpus={"big": 1})), platform
        ),
        "string_pattern_mismatch",
    )
    assert p.path == "spec.quotas.gpus.big"
    assert p.message.startswith("invalid key")


def test_wrong_type_deep_in_a_list(platform: PlatformSettings) -> None:
    def change(d: Doc) -> None:
        d["spec"]["models"][0]["inputs"][0]["dims"] = ["sixty-four"]

    p = _only(problems_for(variant("acme", change), platform), "int_parsing")
    assert p.path == "spec.models[0].inputs[0].dims[0]"


@pytest.mark.parametrize(("dims", "ok"), [([0], False), ([4, 0], False), ([-1, 4], True)])
def test_a_zero_dimension_is_refused_as_triton_refuses_it(
    platform: PlatformSettings, dims: list[int], ok: bool
) -> None:
    """Triton's ValidateIOShape: each dimension is >= 1, or -1 for a variable size."""

    def change(d: Doc) -> None:
        d["spec"]["models"][0]["outputs"][0]["dims"] = dims

    got = problems_for(variant("acme", change), platform)
    if ok:
        assert got == []
        return
    p = _only(got, "dimension_zero")
    assert p.path == f"spec.models[0].outputs[0].dims[{dims.index(0)}]" and p.value == 0
    assert p.accepted and "-1" in p.accepted and p.line is not None


def test_version_number_is_accepted_as_text(platform: PlatformSettings) -> None:
    def change(d: Doc) -> None:
        d["spec"]["models"][0]["version"] = 12
        d["spec"]["models"][0]["canary"]["version"] = 13

    assert problems_for(variant("acme", change), platform) == []


def _paths(node: object, at: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every key and list index of a document, depth first."""
    out: list[tuple[object, ...]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for k, v in items:
        out.append((*at, k))
        out.extend(_paths(v, (*at, k)))
    return out


def _without(d: Doc, path: tuple[object, ...], replace: object = None) -> Doc:
    import copy

    out = copy.deepcopy(d)
    node: Any = out
    for k in path[:-1]:
        node = node[k]
    if replace is None:
        del node[path[-1]]
    else:
        node[path[-1]] = replace
    return out


@pytest.mark.parametrize("name", ["acme", "initech"])
def test_every_structural_error_says_what_is_accepted(
    platform: PlatformSettings, name: str
) -> None:
    """The class: remove any key of an example file, or give any value the wrong type
    (a mapping where text is, text where a mapping is), and every problem names the value
    given where there is one and what is accepted ('is required' had no 'accepted')."""
    d = variant(name, lambda d: None)
    seen: set[str] = set()
    for path in _paths(d):
        for changed in (_without(d, path), _without(d, path, {"x": 1}), _without(d, path, "x")):
            for p in problems_for(changed, platform, stem=name):
                if p.severity == "error" and p.code not in {"name_mismatch"}:
                    seen.add(p.code)
                    assert p.accepted, p.render()
    assert {"missing", "extra_forbidden", "string_type", "model_type"} <= seen


@pytest.mark.parametrize("name", ["acme", "initech", "umbrella"])
def test_true_or_false_is_never_read_as_a_number(platform: PlatformSettings, name: str) -> None:
    """The class: every number of an example file, given as ``true`` (pydantic would read
    1), is refused at its own path ('minReplicas: true' was one replica)."""
    from tenantry.spec import format_path

    d = variant(name, lambda d: None)
    numbers = [p for p in _paths(d) if _at(d, p) is not True and isinstance(_at(d, p), int | float)]
    assert len(numbers) > 10
    for path in numbers:
        got = problems_for(_without(d, path, True), platform, stem=name)
        where = format_path(list(path))
        assert ("bool_for_number", where) in codes(got), (where, [p.render() for p in got])


def test_true_or_false_is_no_number_in_the_platform_settings(platform: PlatformSettings) -> None:
    from tenantry.spec.platform import PlatformError, parse_platform

    doc = platform.model_dump(by_alias=True, mode="json", exclude_none=True)
    doc["sharedPools"][0]["maxNodes"] = True
    with pytest.raises(PlatformError) as caught:
        parse_platform(doc, "settings")
    assert [(p.code, p.path) for p in caught.value.problems] == [
        ("bool_for_number", "sharedPools[0].maxNodes")
    ]


def _at(d: Any, path: tuple[object, ...]) -> Any:
    for k in path:
        d = d[k]
    return d


@pytest.mark.parametrize(
    ("arn", "ok"),
    [
        ("arn:aws:iam::111122223333:role/ml-admin", True),
        ("arn:aws:iam::111122223333:user/alice", True),
        ("arn:aws:iam::111122223333:group/ml-admins", False),
    ],
)
def test_admins_are_roles_or_users_as_policy_principals_must_be(
    platform: PlatformSettings, arn: str, ok: bool
) -> None:
    """access.admins become the admin role's trust-policy principals (and the platform's
    admins, bucket and key policy principals): IAM refuses a group there, so validate
    does, in the tenant file and in the platform settings."""
    from tenantry.spec.platform import PlatformError, parse_platform

    got = problems_for(
        variant("acme", lambda d: d["spec"]["access"].update(admins=[arn])), platform
    )
    settings = platform.model_dump(by_alias=True, mode="json", exclude_none=True)
    settings["admins"] = [arn]
    if ok:
        assert got == []
        parse_platform(settings, "settings")
        return
    p = _only(got, "string_pattern_mismatch")
    assert p.path == "spec.access.admins[0]" and p.accepted and "not a group" in p.accepted
    with pytest.raises(PlatformError):
        parse_platform(settings, "settings")


def test_every_pattern_of_the_tenant_file_has_words_for_what_it_accepts() -> None:
    """The class: no refusal says 'accepted: text matching <regex>' (a claim value said
    '^[^*\\s\\x00-\\x1f](?:...)?$'); every pattern of the tenant schema has its words."""
    import json

    from tenantry.spec import json_schema
    from tenantry.spec.pydantic_errors import _pattern_help

    patterns: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.add(node["pattern"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(json.dumps(json_schema())))
    assert len(patterns) > 10
    bare = sorted(p for p in patterns if _pattern_help(p).startswith("text matching"))
    assert bare == []


@pytest.mark.parametrize(
    "value", ["unassigned", "Unassigned", "none", "TBD", "to-do", "changeme", "000", "CC-0000"]
)
def test_a_placeholder_cost_center_is_refused(platform: PlatformSettings, value: str) -> None:
    """A placeholder looks like a value to finance (it is on every resource's cost-center
    tag) and allocates the spend to nobody."""

    def change(d: Doc) -> None:
        d["metadata"]["costCenter"] = value

    p = _only(problems_for(variant("acme", change), platform), "cost_center_placeholder")
    assert (p.path, p.value) == ("metadata.costCenter", value)
    assert "placeholder" in p.message or "filler" in p.message
    assert p.accepted is not None and "CC-1042" in p.accepted


@pytest.mark.parametrize("value", ["CC-1042", "finance.ml-42", "x1", "CC-0101", "nonprofit"])
def test_real_cost_centers_pass(platform: PlatformSettings, value: str) -> None:
    def change(d: Doc) -> None:
        d["metadata"]["costCenter"] = value

    assert codes(problems_for(variant("acme", change), platform)) == set()
