"""Turn records into files, and write them atomically.

Layout of a render directory (every path derives from the objects, so it is stable)::

    kubernetes/<namespace>/<kind>-<name>.yaml   one Kubernetes object per file (cluster-scoped
                                                objects under kubernetes/_cluster/); Helm
                                                releases and patches are not objects: they
                                                go to resources/
    triton/<object key>                         every Triton config.pbtxt, at its bucket key
    resources/<type>--<name>.json               every other provider-managed resource
    resources.json                              every record (components included): type,
                                                name, URN, parent, inputs
    .tenantry-render                            marker: this directory may be replaced
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .recorder import Record

MARKER = ".tenantry-render"
TOP_KEYS = ("apiVersion", "kind", "metadata")
BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def is_object(rec: Record) -> bool:
    """A Kubernetes object the record declares whole (not a Helm release, not a patch)."""
    return (
        rec.type.startswith("kubernetes:")
        and rec.type != HELM_RELEASE
        and not rec.type.endswith("Patch")
    )


class WriteError(ValueError):
    """The output directory cannot be written (it holds something that is not a render)."""


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("_") or "_"


def manifest(rec: Record) -> dict[str, Any]:
    """The Kubernetes object a ``kubernetes:*`` record declares (apiVersion, kind, metadata
    first; the rest as the SDK sent it)."""
    inputs = rec.inputs
    out = {k: inputs[k] for k in TOP_KEYS if k in inputs}
    out.update({k: v for k, v in inputs.items() if k not in TOP_KEYS})
    return out


def _yaml(obj: Mapping[str, Any]) -> bytes:
    return yaml.safe_dump(
        dict(obj), sort_keys=False, default_flow_style=False, width=100, allow_unicode=True
    ).encode("utf-8")


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def render_files(records: Iterable[Record]) -> dict[str, bytes]:
    """Relative path -> file content, for every record."""
    recs = list(records)
    files: dict[str, bytes] = {}

    def put(path: str, data: bytes, rec: Record) -> None:
        if path in files:
            raise WriteError(f"two resources render to {path} (the second: {rec.urn})")
        files[path] = data

    for rec in recs:
        if not rec.custom:
            continue
        if is_object(rec):
            obj = manifest(rec)
            meta = obj.get("metadata") or {}
            kind, name = str(obj.get("kind", "")), meta.get("name")
            if not kind or not isinstance(name, str):
                raise WriteError(f"{rec.urn}: a Kubernetes object needs kind and metadata.name")
            ns = _safe(str(meta["namespace"])) if meta.get("namespace") else "_cluster"
            put(f"kubernetes/{ns}/{_safe(kind.lower())}-{_safe(name)}.yaml", _yaml(obj), rec)
            continue
        if rec.type == BUCKET_OBJECT and str(rec.inputs.get("key", "")).endswith("config.pbtxt"):
            content = rec.inputs.get("content")
            if not isinstance(content, str):
                raise WriteError(f"{rec.urn}: config.pbtxt content is not known at render time")
            put(
                "triton/" + "/".join(_safe(p) for p in str(rec.inputs["key"]).split("/")),
                content.encode("utf-8"),
                rec,
            )
        put(f"resources/{_safe(rec.type)}--{_safe(rec.name)}.json", _json(rec.to_data()), rec)
    files["resources.json"] = _json([r.to_data() for r in recs])
    files[MARKER] = b"tenantry render output; `tenantry render` replaces this directory whole.\n"
    return dict(sorted(files.items()))


def write_atomic(files: Mapping[str, bytes], out: Path) -> None:
    """Write ``files`` as directory ``out``, all or nothing: render into a temporary directory
    next to ``out`` and rename it into place. An existing ``out`` is replaced only when it is
    empty or a previous render (has the marker); anything else is refused untouched."""
    out = Path(os.path.abspath(out))
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / MARKER).exists())):
        raise WriteError(
            f"{out}: exists and is not a tenantry render directory; refusing to "
            "replace it (choose another --out or remove it)"
        )
    for rel in files:
        p = Path(rel)
        if p.is_absolute() or ".." in p.parts:
            raise WriteError(f"refusing to write outside the output directory: {rel}")
    try:
        _replace_with(files, out)
    except OSError as exc:  # the file system refuses: say where, not the temporary name
        where = f"{exc.filename}: " if exc.filename and ".tmp" not in str(exc.filename) else ""
        raise WriteError(
            f"{out}: cannot write the render there ({where}{exc.strerror or exc}); choose "
            "another --out"
        ) from exc


def _replace_with(files: Mapping[str, bytes], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old: Path | None = None
    try:
        for rel, data in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for d in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            d.chmod(0o755)
        if out.exists():
            old = out.parent / f".{out.name}.{os.getpid()}.old"
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        if old is not None and old.exists() and not out.exists():
            old.rename(out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
