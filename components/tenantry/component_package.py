"""Tenantry as a Pulumi component package for every Pulumi language (``pulumi package add``).

The folder ``components/`` of the repository is a source-based plugin package
(https://www.pulumi.com/docs/iac/guides/building-extending/packages/source-based-plugin/):

- ``components/PulumiPlugin.yaml`` declares the Python runtime;
- ``components/__main__.py`` is the entry point the Python language host runs
  (``python <plugin dir> <engine address> ...``; a directory with a ``__main__.py`` is run
  as it is, ``pulumi-language-python`` ``RunPlugin``). It calls :func:`main`, which starts
  the SDK's component provider host
  (``pulumi.provider.experimental.component_provider_host``) with :data:`COMPONENTS`;
- ``components/requirements.txt`` lists what the host's virtual environment needs (the
  language host creates ``components/venv`` and installs it): Tenantry's own dependencies,
  the same as ``pyproject.toml``'s (a test keeps them equal). Tenantry itself is imported
  from the folder, so the package serves exactly the checked-out code;
- ``components/schema.json`` is the schema the host infers (:func:`schema`), committed so
  that a change to a component's interface shows in review; a test keeps it equal.

A consumer runs ``pulumi package add <path to components/>`` (or
``github.com/<org>/<repo>/components@<tag>``) and gets an SDK for their language with
``tenantry.Tenant`` and ``tenantry.Platform``. The SDK names them ``tenantry:index:Tenant``
and ``tenantry:index:Platform`` in the schema (``analyzer.py``: one module, ``index``), while
a component registers itself under its class's ``TYPE`` (``ComponentProvider.construct``
calls the constructor). So the host process (and only it: it serves nothing else) registers
them under the schema's tokens (:func:`serve`); Python programs keep
``tenantry:tenant:Tenant`` and ``tenantry:platform:Platform`` and their URNs.

What the schema says comes from the Args classes' annotations and attribute docstrings
(the SDK's ``analyzer.py``): a field is optional exactly when its annotation is
``Optional``/``NotRequired``; ``tenant``, ``platform`` and ``settings`` are documents (maps),
plain values because they decide which resources exist. The host passes ``args`` as a dict;
:func:`tenantry._args.args_of` turns it into the frozen Args, so there is one code path.
"""

import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi

from . import _sdk
from .platform.platform import Platform
from .tenant import Tenant

PACKAGE = "tenantry"
"""The package name consumers see (``pulumi package add`` records it in ``Pulumi.yaml``)."""

COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (Tenant, Platform)
"""The components the package serves."""

PLUGIN_DIR = Path(__file__).resolve().parent.parent
"""The plugin package's folder (``components/`` in a checkout)."""

SCHEMA_FILE = PLUGIN_DIR / "schema.json"
"""The committed schema (in a checkout)."""


def package_version() -> str:
    """The version the package announces: ``pyproject.toml``'s next to the source root when
    running from a checkout (what ``pulumi package add`` uses), else the installed
    distribution's, else ``0.0.0`` (the SDK host's own default)."""
    pyproject = PLUGIN_DIR.parent / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text("utf-8")).get("project", {})
        if project.get("name") == PACKAGE and isinstance(project.get("version"), str):
            return str(project["version"])
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "0.0.0"


def schema() -> dict[str, Any]:
    """The Pulumi package schema the host serves, inferred in-process by the SDK's own
    analyzer (no Pulumi CLI). Raises what the analyzer raises for an Args type it cannot
    express (a union other than ``Optional``, a callable, a dict keyed by non-strings)."""
    provider = _sdk.component_provider(COMPONENTS, PACKAGE, package_version())
    parsed: dict[str, Any] = json.loads(provider.schema)
    return parsed


def schema_text() -> str:
    """:func:`schema` as committed in ``schema.json`` (sorted keys, two-space indent)."""
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def schema_token(component: type[pulumi.ComponentResource]) -> str:
    """The type token the schema gives ``component`` (``<package>:index:<class name>``)."""
    return f"{PACKAGE}:index:{component.__name__}"


def serve() -> None:
    """Serve :data:`COMPONENTS` with the SDK's component provider host, each registered
    under its schema token (a consumer's URNs then carry the type its SDK declares). Blocks
    until the engine stops the provider; the host reads the engine's arguments from
    ``sys.argv``."""
    from pulumi.provider.experimental import component_provider_host

    for component in COMPONENTS:
        component.TYPE = schema_token(component)  # type: ignore[attr-defined]
    component_provider_host(list(COMPONENTS), name=PACKAGE, version=package_version())


def main(argv: Sequence[str] | None = None) -> int:
    """``schema``: print :func:`schema_text`. Anything else: serve :data:`COMPONENTS` with the
    SDK's component provider host (it reads the engine's arguments from ``sys.argv``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["schema"]:
        sys.stdout.write(schema_text())
        return 0
    serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
