"""``tenantry.testing``: what a user needs to unit-test a program that uses Tenantry."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from tenantry import Identity, Platform, PlatformArgs, Tenant, TenantArgs, platform_inputs
from tenantry.platform.program import platform_plan
from tenantry.testing import (
    ACCOUNT_ID,
    UNKNOWN,
    PreviewMocks,
    TenantryMocks,
    platform_outputs,
    record,
    record_file,
)
from tenantry.testing import platform_inputs as fake_inputs
from tests.components.helpers import EXAMPLES, ROOT, platform, tenants
from tests.platform.helpers import example_plan

STACK_REF = "organization/tenantry/platform"


class EchoMocks(pulumi.runtime.Mocks):
    """What the Pulumi docs' unit-test example does: every resource echoes its inputs."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


def tenant_args(name: str, **kw: Any) -> TenantArgs:
    return TenantArgs.from_spec(tenants()[name], platform(), fake_inputs(), **kw)


def test_plain_echo_mocks_fail_where_tenantry_mocks_answer() -> None:
    """The failure a user met (issue 15): plain mocks leave the KMS key's ARN empty, and the
    bucket policy written from it fails with an unclear TypeError."""
    with pytest.raises(TypeError, match="NoneType"):
        record(lambda: Tenant("acme", tenant_args("acme")), mocks=EchoMocks())
    rec = record(lambda: Tenant("acme", tenant_args("acme")))
    policy = json.loads(rec.named("acme-storage-policy").inputs["policy"])
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/acme-key-key"
    assert key_arn in json.dumps(policy)


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_pulumi_unit_test_pattern_works_with_tenantry_mocks(name: str) -> None:
    """``set_mocks`` + ``@pulumi.runtime.test`` + outputs checked in an ``apply``, through a
    StackReference to the platform stack as the stack program reads it."""
    pulumi.runtime.set_mocks(TenantryMocks(), project="tenantry", stack=name, preview=False)
    seen: list[Any] = []

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        t = Tenant(
            name, TenantArgs.from_spec(tenants()[name], platform(), platform_inputs(STACK_REF))
        )
        return pulumi.Output.all(t.namespace, t.bucket_name, t.inference_role_arn, t.models).apply(
            seen.append
        )

    program()
    namespace, bucket, role, models = seen[0]
    assert namespace == name and bucket == f"tenantry-{name}-{ACCOUNT_ID}"
    assert role == f"arn:aws:iam::{ACCOUNT_ID}:role/tenantry/tenantry-{name}-inference"
    assert models == sorted(m.name for m in tenants()[name].models)


def test_preview_mocks_answer_as_tenantry_plan_does() -> None:
    rec = record(lambda: Tenant("acme", tenant_args("acme")), mocks=PreviewMocks())
    assert rec.named("acme-identity-pod-identity").inputs["roleArn"] == UNKNOWN
    known = record(lambda: Tenant("acme", tenant_args("acme")))
    assert known.named("acme-identity-pod-identity").inputs["roleArn"] == (
        f"arn:aws:iam::{ACCOUNT_ID}:role/tenantry/tenantry-acme-inference"
    )
    assert rec.one("aws:s3/bucket:Bucket").inputs["bucket"] == f"tenantry-acme-{ACCOUNT_ID}"


def test_recording_helpers_name_what_is_missing() -> None:
    rec = record(lambda: Tenant("acme", tenant_args("acme")))
    assert rec.types["tenantry:tenant:Tenant"] == 1 and len(rec) == sum(rec.types.values())
    assert {r.name for r in rec.children("acme")} >= {"acme-provider", "acme-storage"}
    with pytest.raises(LookupError, match="2 resources, expected exactly one"):
        rec.one("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    with pytest.raises(LookupError, match="'nope': 0 resources; names: "):
        rec.named("nope")


def test_a_tenant_built_in_code_from_a_document() -> None:
    """The same tenant from its document equals the one loaded from its file; a bad
    document is refused before anything is declared, naming TenantArgs.tenant."""
    acme = tenants()["acme"]
    doc = acme.spec.model_dump(by_alias=True, mode="json") if acme.spec else {}
    settings = platform().model_dump(by_alias=True, mode="json")
    from_file = record(lambda: Tenant("acme", tenant_args("acme")))
    in_code = record(
        lambda: Tenant(
            "acme", TenantArgs(tenant=doc, platform=settings, platform_outputs=fake_inputs())
        )
    )
    assert in_code.records == from_file.records
    bad = {**doc, "spec": {**doc["spec"], "tier": "gold"}}
    declared: list[str] = []
    with pytest.raises(Exception, match=r"TenantArgs\.tenant.*spec\.tier") as info:
        record(
            lambda: (
                declared.append("started"),
                Tenant(
                    "x", TenantArgs(tenant=bad, platform=settings, platform_outputs=fake_inputs())
                ),
            )
        )
    assert type(info.value).__name__ == "SpecError"
    with pytest.raises(Exception, match=r"TenantArgs\.tenant.*spec\.tier"):
        TenantArgs.from_document(bad, platform(), fake_inputs())


def test_the_provider_hosts_mapping_builds_the_same_tenant() -> None:
    """Pulumi's component provider host passes args as a dict of Python field names with
    nested dicts and enum values (pulumi/provider/experimental/component.py)."""
    acme = tenants()["acme"]
    doc = acme.spec.model_dump(by_alias=True, mode="json") if acme.spec else {}
    inputs = platform_outputs()
    wire = {
        "tenant": doc,
        "platform": platform().model_dump(by_alias=True, mode="json"),
        "platform_outputs": {
            "cluster_name": inputs["clusterName"],
            "cluster_endpoint": inputs["clusterEndpoint"],
            "cluster_ca_data": inputs["clusterCaData"],
            "node_role_arn": inputs["nodeRoleArn"],
            "subnet_ids": inputs["subnetIds"],
            "platform_key_arn": inputs["platformKeyArn"],
            "vector_db": inputs["vectorDb"],
            "triton_admin_secret": inputs["tritonAdminSecret"],
        },
        "identity": {
            "mode": "irsa",
            "oidc_provider_arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.example/id/A",
            "oidc_issuer": "https://oidc.example/id/A",
        },
        "replace_vector_namespaces": None,
    }
    via_host = record(lambda: Tenant("acme", wire))  # type: ignore[arg-type]
    irsa = Identity.irsa(
        oidc_provider_arn=wire["identity"]["oidc_provider_arn"],  # type: ignore[index]
        oidc_issuer=wire["identity"]["oidc_issuer"],  # type: ignore[index]
    )
    direct = record(lambda: Tenant("acme", tenant_args("acme", identity=irsa)))
    assert via_host.records == direct.records
    with pytest.raises(TypeError, match=r"TenantArgs: unknown field\(s\) \['tier'\]"):
        record(lambda: Tenant("acme", {**wire, "tier": "x"}))  # type: ignore[arg-type]


def test_platform_args_from_documents_plan_the_tenant_files() -> None:
    settings = platform().model_dump(by_alias=True, mode="json")
    args = PlatformArgs(
        settings=settings,
        vector_db_password="pw",
        triton_admin_secret="triton-secret",
        tenants_dir=str(ROOT / "tenants"),
        unpinned_preview=True,  # the example platform pins no Triton digest
    )
    from_docs = record(lambda: Platform("platform", args), stack="platform")
    program = platform_plan(ROOT / "tenants", platform())  # runtimes and grants the tenants need
    carried = PlatformArgs.from_spec(
        platform(),
        example_plan(),
        vector_db_password="pw",
        triton_admin_secret="triton-secret",
        unpinned_preview=True,
        llm_grants=program.llm_grants,
        formats=program.formats,
        tenant_tags=program.tenant_tags,
    )
    assert (
        from_docs.records == record(lambda: Platform("platform", carried), stack="platform").records
    )
    with pytest.raises(ValueError, match=r"PlatformArgs\.tenants_dir: required"):
        record(
            lambda: Platform(
                "p",
                PlatformArgs(settings=settings, vector_db_password="pw", triton_admin_secret="s"),
            )
        )


def test_the_platform_runs_the_verdict_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan, the formats and the LLM grants come from one run of the verdict, whether
    the Platform is built from documents or by the platform stack's program."""
    from tenantry import pipeline
    from tenantry.engine import record_platform, stack

    calls: list[object] = []

    def counted(*a: Any, **kw: Any) -> Any:
        calls.append(a)
        return check(*a, **kw)

    check = pipeline.check
    monkeypatch.setattr(pipeline, "check", counted)
    monkeypatch.setattr(stack, "check", counted)  # render platform's own verdict, handed over
    args = PlatformArgs(
        settings=platform().model_dump(by_alias=True, mode="json"),
        vector_db_password="pw",
        triton_admin_secret="triton-secret",
        tenants_dir=str(ROOT / "tenants"),
        unpinned_preview=True,
    )
    built = record(lambda: Platform("platform", args), stack="platform")
    assert len(calls) == 1
    assert any(r.type.endswith("LLMInferenceService") for r in built.records)
    calls.clear()
    record_platform(ROOT / "tenants", ROOT / "stacks")
    assert len(calls) == 1


def test_record_file_runs_a_stack_program_as_pulumi_would() -> None:
    config = {
        "tenantry:tenant": "acme",
        "tenantry:tenantFile": str(ROOT / "tenants" / "acme.yaml"),
        "tenantry:stacksDir": str(ROOT / "stacks"),
    }
    rec = record_file(ROOT / "stacks" / "__main__.py", stack="acme", config=config)
    assert rec.one("tenantry:tenant:Tenant").name == "acme"
    assert rec.one("aws:s3/bucket:Bucket").inputs["bucket"] == f"tenantry-acme-{ACCOUNT_ID}"
    with pytest.raises(FileNotFoundError, match="no such program file"):
        record_file(ROOT / "nope.py")
