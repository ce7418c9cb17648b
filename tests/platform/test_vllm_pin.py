"""The vLLM image every LLMInferenceService runs is pulled by digest (``vllmImageDigest``):
a tenant stack with own LLMs refuses to deploy without it; offline renders name the tag and
annotate it unpinned (the platform's base models: tests/platform/test_llm_gateway.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenantry.engine import stack as st
from tenantry.k8s.llm_inference_service import image_annotations
from tenantry.spec import PlatformSettings
from tests.components.helpers import ROOT, platform

from .helpers import VLLM_DIGEST


def _settings(**changes: object) -> PlatformSettings:
    data = platform().model_dump(by_alias=True)
    data.update(changes)
    return PlatformSettings.model_validate(data)


def test_the_digest_pins_the_tag_and_bad_values_are_refused() -> None:
    assert _settings().pinned_vllm_image == "vllm/vllm-openai:v0.11.0"
    pinned = _settings(vllmImageDigest=VLLM_DIGEST).pinned_vllm_image
    assert pinned == f"vllm/vllm-openai:v0.11.0@{VLLM_DIGEST}"
    assert image_annotations(pinned) == {}
    assert image_annotations("vllm/vllm-openai:v0.11.0") == {
        "tenantry.dev/unpinned-image": "vllmImageDigest is not set; pulumi up refuses this stack"
    }
    with pytest.raises(ValidationError, match="vllmImageDigest"):
        _settings(vllmImageDigest="sha256:abc")
    with pytest.raises(ValidationError, match="vllmImage"):
        _settings(vllmImage=f"vllm/vllm-openai@{VLLM_DIGEST}")  # the digest has its own key


def test_a_tenant_with_own_llms_refuses_to_deploy_vllm_by_tag() -> None:
    """Without ``tenantry:offlineRender`` (set by ``tenantry render`` only) the tenant stack
    program stops before declaring anything, naming the setting to set."""
    tenant = st.load("initech", ROOT / "tenants", ROOT / "stacks", None)
    assert tenant.llms
    config = st.stack_config(ROOT / "stacks", tenant)
    config.update(
        {
            "tenantry:tenant": "initech",
            "tenantry:tenantFile": str(ROOT / "tenants" / "initech.yaml"),
            "tenantry:stacksDir": str(ROOT / "stacks"),
        }
    )
    with pytest.raises(Exception, match="vllmImageDigest is not set; initech's llms run") as exc:
        st._run(st.stack_program(ROOT / "stacks", None), "initech", config)
    assert "nothing was declared" in str(exc.value)
