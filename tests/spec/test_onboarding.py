"""The onboarding gate's fields and rule, and the rollout settings (spec side)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenantry.spec import PlatformSettings
from tenantry.spec.model import Artifact
from tenantry.spec.platform import Cohort, RolloutSettings

from .helpers import Doc, codes, problems_for, variant

DIGEST = "sha256:" + "a" * 64
IMAGE = "registry.example.com:5000/team/models/fraud_detector@sha256:" + "b" * 64


def _drop_artifacts(d: Doc) -> None:
    for m in d["spec"]["models"]:
        m.pop("artifact", None)
        if "canary" in m:
            m["canary"].pop("artifact", None)


def test_artifact_is_exactly_one_of_digest_or_image() -> None:
    assert Artifact(digest=DIGEST).image is None
    assert Artifact(image=IMAGE).digest is None
    for bad in ({}, {"digest": DIGEST, "image": IMAGE}):
        with pytest.raises(ValidationError, match="exactly one of digest"):
            Artifact(**bad)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("digest", "sha256:" + "A" * 64),  # upper-case hex
        ("digest", "sha256:" + "a" * 63),
        ("digest", "md5:" + "a" * 32),
        ("image", "registry.example.com/team/model:latest"),  # a tag is not a digest
        ("image", "Registry.example.com/team/model@sha256:" + "a" * 64),
        ("image", "model@sha256:" + "a" * 64),  # no repository path
    ],
)
def test_bad_digests_and_images_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Artifact(**{field: value})


@pytest.mark.parametrize(
    ("tenant", "paths"),
    [
        (
            "acme",  # premium: both models and the canary
            {
                "spec.models[0].artifact",
                "spec.models[0].canary.artifact",
                "spec.models[1].artifact",
            },
        ),
        ("initech", {"spec.models[0].artifact", "spec.models[1].artifact"}),  # isolated
        (
            "umbrella",  # dedicated
            {
                "spec.models[0].artifact",
                "spec.models[0].canary.artifact",
                "spec.models[1].artifact",
            },
        ),
        ("globex", set()),  # shared: not required by default
    ],
)
def test_tiers_above_shared_must_pin_every_version(
    tenant: str, paths: set[str], platform: PlatformSettings
) -> None:
    got = codes(problems_for(variant(tenant, _drop_artifacts), platform))
    assert got == {("artifact_required", p) for p in paths}
    assert codes(problems_for(variant(tenant, lambda d: None), platform)) == set()


def test_the_platform_setting_decides_which_tiers(platform: PlatformSettings) -> None:
    everyone = platform.model_copy(
        update={
            "onboarding": platform.onboarding.model_copy(
                update={"require_artifact_digest": ["shared", "premium", "isolated", "dedicated"]}
            )
        }
    )
    got = codes(problems_for(variant("globex", _drop_artifacts), everyone))
    assert got == {
        ("artifact_required", "spec.models[0].artifact"),
        ("artifact_required", "spec.models[1].artifact"),
    }
    nobody = platform.model_copy(
        update={
            "onboarding": platform.onboarding.model_copy(update={"require_artifact_digest": []})
        }
    )
    assert codes(problems_for(variant("acme", _drop_artifacts), nobody)) == set()


def test_missing_artifact_message_names_model_version_and_what_is_accepted(
    platform: PlatformSettings,
) -> None:
    [p] = [
        p
        for p in problems_for(variant("initech", _drop_artifacts), platform)
        if p.path == "spec.models[1].artifact"
    ]
    assert "'summarizer' version 2" in p.message and "isolated tier" in p.message
    assert p.accepted is not None and "tenantry digest DIR" in p.accepted


def test_cohorts_must_select_someone_and_be_unique() -> None:
    with pytest.raises(ValidationError, match="selects no tenant"):
        Cohort(name="empty")
    with pytest.raises(ValidationError, match="names must be unique"):
        RolloutSettings(cohorts=[Cohort(name="a", tiers=["shared"])] * 2)
    assert RolloutSettings().parallel == 4
