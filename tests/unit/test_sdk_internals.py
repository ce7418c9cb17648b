"""The Pulumi SDK internals the recording engine uses live in one module, which names the SDK
releases they were tested on; the dependency pin says the same."""

from __future__ import annotations

import re
import tomllib

import pytest

from tenantry import _sdk
from tests.conftest import ROOT

# Imports of SDK internals: pulumi.runtime submodules other than the package's own
# documented names, pulumi.output's internals, and private names of the SDK or of pickle.
INTERNAL = re.compile(
    r"^\s*(from\s+pulumi\.(runtime\.|output\s)|import\s+pulumi\.runtime\.)"
    r"|(?<!_sdk\.)(?<!``)\b(_sync_await|_get_stack_trace|_special_sig_key|_special_secret_sig|SETTINGS|"
    r"_resource_type_name|_Pickler|run_pulumi_func|MockMonitor)\b",
    re.M,
)


def test_the_installed_sdk_is_a_tested_release() -> None:
    message = _sdk.untested_version()
    assert message is None, message


def test_an_untested_release_gets_a_message_naming_it_and_the_range() -> None:
    assert _sdk.untested_version("3.260.0") is None
    assert _sdk.untested_version("3.272.9") is None
    for version in ("3.259.0", "3.273.0", "4.0.0", "unknown"):
        message = _sdk.untested_version(version)
        assert message is not None and f"pulumi {version} " in message
        assert _sdk.TESTED in message and "pyproject.toml" in message


def test_the_dependency_pin_is_the_tested_range() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    pins = [d for d in meta["project"]["dependencies"] if re.match(r"pulumi\s*[<>=]", d)]
    assert pins == [f"pulumi{_sdk.TESTED}"]


def test_a_missing_internal_is_named_with_the_version_and_the_range() -> None:
    with pytest.raises(_sdk.SdkIncompatible) as info:
        _sdk._internal("pulumi.runtime.settings", "NO_SUCH_NAME")
    text = str(info.value)
    assert "pulumi.runtime.settings.NO_SUCH_NAME" in text
    assert _sdk.sdk_version() in text and _sdk.TESTED in text


def test_no_other_module_of_the_library_touches_sdk_internals() -> None:
    offenders = []
    for path in sorted((ROOT / "components" / "tenantry").rglob("*.py")):
        if path.name == "_sdk.py":
            continue
        text = path.read_text("utf-8")
        offenders += [
            f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
            for m in INTERNAL.finditer(text)
        ]
    assert offenders == []
