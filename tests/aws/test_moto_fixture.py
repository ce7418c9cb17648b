"""The moto fixture skips without the binary, except under CI=true where it fails."""

from __future__ import annotations

import pytest

from . import moto_server


def test_missing_binary_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto_server, "moto_binary", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with (
        pytest.raises(pytest.skip.Exception, match="moto_server not installed"),
        moto_server.moto_server(),
    ):
        pass


def test_missing_binary_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto_server, "moto_binary", lambda: None)
    monkeypatch.setenv("CI", "true")
    with (
        pytest.raises(pytest.fail.Exception, match="CI=true requires it"),
        moto_server.moto_server(),
    ):
        pass
