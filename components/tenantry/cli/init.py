"""``tenantry init NAME --tier TIER [--gpu PROFILE]``: write a commented tenant file that
validates as written (with the whole registry: no collision with the existing tenants).

The file has the schema line editors use, the tier's contract in a comment, one example
model (on a GPU slice of the profile given, or CPU-only), the quota that model needs, and
commented examples of what else a tenant declares. Nothing is written when the result would
not validate: the problems are printed instead.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

from ..catalog import gpu_models, instance_types
from ..catalog.models import InstanceType
from ..pipeline import check
from ..spec import TIERS, PlatformSettings
from ..spec.errors import errors
from .common import (
    EXIT_OK,
    InvalidInput,
    UsageError,
    add_dirs,
    add_format,
    platform_from,
    warn,
    write_json,
)

SCHEMA_LINE = "# yaml-language-server: $schema=./tenant.schema.json"
WHOLE_GPU = "gpu"


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "init", help="write a commented tenant file (tenants/NAME.yaml) that validates"
    )
    p.add_argument("name", metavar="NAME", help="tenant name: its namespace and stack name")
    p.add_argument(
        "--tier",
        required=True,
        choices=list(TIERS),
        help="shared: MIG slices on shared GPUs; premium: shared, first in queues, own KMS "
        "key; isolated: GPUs of its own; dedicated: node groups of its own",
    )
    p.add_argument(
        "--gpu",
        metavar="PROFILE",
        help="the example model's GPU: a MIG profile (e.g. 1g.10gb) or 'gpu' for a whole "
        "GPU; omitted: a CPU-only model",
    )
    p.add_argument(
        "--cost-center",
        required=True,
        metavar="CC",
        help="the finance cost center charged for this tenant, tagged on every resource "
        "(e.g. CC-1042); required: no placeholder is written (validate refuses 'unassigned', "
        "'tbd' and the like)",
    )
    p.add_argument(
        "--artifact",
        type=Path,
        metavar="DIR",
        help="the example model version's directory: its digest (tenantry digest DIR) pins "
        "what it serves (required above the shared tier: onboarding.requireArtifactDigest)",
    )
    p.add_argument(
        "--artifact-image",
        metavar="IMAGE",
        help="or the OCI image that serves it, registry/repository@sha256:<64 hex>",
    )
    p.add_argument("--force", action="store_true", help="replace an existing tenant file")
    add_format(p)
    add_dirs(p)
    p.set_defaults(func=run)


def _offers(gpu_model: str, profile: str) -> bool:
    return profile == WHOLE_GPU or gpu_models()[gpu_model].profile(profile) is not None


def _pool_for(platform: PlatformSettings, profile: str) -> str | None:
    for pool in platform.shared_pools:
        it = instance_types().get(pool.instance_type)
        if it is not None and _offers(it.gpu_model, profile):
            return pool.name
    return None


def _instance_for(platform: PlatformSettings, profile: str) -> InstanceType | None:
    """An instance type for a dedicated node group: a shared pool's type first (known to
    run on this platform), else the catalog's first that offers the profile."""
    types = instance_types()
    preferred = [types[p.instance_type] for p in platform.shared_pools if p.instance_type in types]
    for it in [*preferred, *sorted(types.values(), key=lambda t: t.name)]:
        if _offers(it.gpu_model, profile):
            return it
    return None


def _profiles(platform: PlatformSettings) -> list[str]:
    out = {WHOLE_GPU}
    for it in instance_types().values():
        out.update(gpu_models()[it.gpu_model].profile_names)
    return sorted(out)


def artifact_line(args: argparse.Namespace, platform: PlatformSettings) -> str | None:
    """The example model's ``artifact:`` (a digest of ``--artifact DIR``, or
    ``--artifact-image``); :class:`UsageError` when the tier requires one and none is
    given (the platform's ``onboarding.requireArtifactDigest``), rather than a made-up
    digest that would validate and then fail the onboarding gate."""
    from ..artifacts import DigestError, directory_digest

    if args.artifact is not None and args.artifact_image is not None:
        raise UsageError("give --artifact DIR or --artifact-image IMAGE, not both")
    if args.artifact is not None:
        try:
            return f"artifact: {{digest: {directory_digest(args.artifact)}}}"
        except (DigestError, OSError) as exc:
            raise UsageError(
                f"--artifact {args.artifact}: {exc}; pass the model version's directory"
            ) from None
    if args.artifact_image is not None:
        return f"artifact: {{image: {args.artifact_image}}}"
    if args.tier in platform.onboarding.require_artifact_digest:
        raise UsageError(
            f"the {args.tier} tier requires each model version's artifact digest "
            "(onboarding.requireArtifactDigest): pass --artifact DIR (the version's model "
            "directory) or --artifact-image REGISTRY/REPOSITORY@sha256:<64 hex>, or choose "
            "--tier shared"
        )
    return None


def tenant_text(
    name: str,
    tier: str,
    gpu: str | None,
    cost_center: str,
    platform: PlatformSettings,
    artifact: str | None = None,
) -> tuple[str, str]:
    """The tenant file and a one-line description of where its model runs; raises
    :class:`UsageError` when ``gpu`` is offered nowhere this tier could run it."""
    t = TIERS[tier]
    profile = gpu or WHOLE_GPU
    node_group: list[str] = []
    where = "CPU only, on the platform's general nodes"
    what = "a whole GPU" if gpu == WHOLE_GPU else f"a {gpu} MIG slice"
    # dedicated: node groups always; isolated without a GPU model: its CPU-only model runs on
    # nodes of the tenant's own too (validate: isolated_cpu_model_without_nodes)
    own_group = t.node_groups == "required" or (t.gpu_sharing == "exclusive-gpus" and not gpu)
    if own_group:
        it = _instance_for(platform, profile)
        if it is None:
            raise UsageError(
                f"--gpu {gpu}: no instance type in the catalog offers it; accepted: "
                + ", ".join(_profiles(platform))
            )
        layout = ""
        if gpu and gpu != WHOLE_GPU:
            count = gpu_models()[it.gpu_model].profile(gpu)
            assert count is not None
            layout = f'\n      migLayout: {{"{gpu}": {count.max_count}}}  # MIG slices per GPU'
        node_group = [
            f"  nodeGroups:  # {tier}: the tenant's own GPU nodes",
            "    - name: gpu",
            f"      instanceType: {it.name}  # {it.gpus} x {it.gpu_model} per node",
            "      minSize: 1",
            f"      maxSize: 2{layout}",
        ]
        where = f"{what if gpu else 'CPU'} on node group 'gpu' ({it.name})"
    elif gpu:
        pool = _pool_for(platform, gpu)
        if pool is None:
            accepted = sorted(
                {
                    p
                    for sp in platform.shared_pools
                    if sp.instance_type in instance_types()
                    for p in (
                        WHOLE_GPU,
                        *gpu_models()[instance_types()[sp.instance_type].gpu_model].profile_names,
                    )
                }
            )
            raise UsageError(
                f"--gpu {gpu}: no shared pool of the platform offers it; accepted: "
                + ", ".join(accepted)
            )
        where = f"{what} of the shared pool {pool!r}"
    lines = [
        SCHEMA_LINE,
        f"# Tenant {name}: written by `tenantry init {name} --tier {tier}"
        + (f" --gpu {gpu}`" if gpu else "`")
        + ".",
        "# Check it with `tenantry validate`, preview it with `tenantry plan " + name + "`,",
        "# then write its stack config with `tenantry stacks --write`.",
        "# Every field: docs/tenant-file.md; every limit: docs/limits.md.",
        "apiVersion: tenantry.dev/v1alpha1",
        "kind: Tenant",
        "metadata:",
        f"  name: {name}  # = the file name, the namespace and the stack name",
        f"  costCenter: {cost_center}  # on every resource, for finance",
        "  # owner: team@example.com",
        "  # labels: {team: my-team}",
        "spec:",
        f"  tier: {tier}  # {t.description}",
        f"  region: {platform.region}  # the platform's region",
    ]
    if gpu:
        lines += [
            "  quotas:  # omitted fields take the tier's defaults",
            f'    gpus: {{"{gpu}": 2}}  # GPU spend is always declared: >= maxReplicas',
        ]
    lines += node_group
    lines += [
        "  models:",
        "    - name: example-model  # the InferenceService; keep it short: its hosts are",
        "      format: onnx  # <model>-predictor-<tenant>.<domain>, 63 characters per label",
        '      version: "1"  # a Triton version directory: models/<model>/v1/',
    ]
    if artifact:
        lines.append(f"      {artifact}  # what version 1 serves, pinned by content")
    if gpu:
        lines.append(f"      gpu: {gpu}")
    lines += [
        "      cpu: 1",
        "      memoryGiB: 4",
        "      minReplicas: 1",
        "      maxReplicas: 2",
        "      maxBatchSize: 8",
        "      inputs:  [{name: input, dataType: FP32, dims: [16]}]",
        "      outputs: [{name: output, dataType: FP32, dims: [1]}]",
        '      # canary: {version: "2", trafficPercent: 10}  # only once version 1 runs'
        + (" (with its own artifact)" if artifact else ""),
        "  # vectorNamespaces:  # pgvector; dimension <= 2000 (its HNSW index limit)",
        "  #   - {name: docs, dimension: 768, metric: cosine}",
        "  access:",
        "    allowedNamespaces: []  # namespaces whose pods may call these models",
        "",
    ]
    return "\n".join(lines), where


def run(args: argparse.Namespace) -> int:
    platform = platform_from(args.stacks)
    target = args.tenants / f"{args.name}.yaml"
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; pass --force to replace it, or choose another NAME")
    if not args.tenants.is_dir():
        raise UsageError(f"{args.tenants}: no such directory; create it or pass --tenants DIR")
    artifact = artifact_line(args, platform)
    text, where = tenant_text(args.name, args.tier, args.gpu, args.cost_center, platform, artifact)
    others = [
        p
        for p in sorted(args.tenants.iterdir())
        if p.suffix in (".yaml", ".yml") and p.is_file() and p.stem != args.name
    ]
    with tempfile.TemporaryDirectory(prefix="tenantry-init-") as tmp:
        draft = Path(tmp) / f"{args.name}.yaml"
        draft.write_text(text, "utf-8")
        reg = check([*others, draft], platform, stacks_dir=args.stacks)
        mine = [replace(p, file=str(target)) for p in reg.problems if p.file == str(draft)]
    errs = errors(mine)
    if errs:
        raise InvalidInput(
            f"{target} was not written: a tenant {args.name!r} with this tier would not "
            "validate; fix the name or the options",
            errs,
        )
    target.write_text(text, "utf-8")
    warn(mine, args.format)
    if args.format == "json":
        write_json({"ok": True, "file": str(target), "runs": where, "problems": []})
    else:
        print(
            f"wrote {target}: tier {args.tier}; example-model runs on {where}. Next: edit "
            f"it, `tenantry validate`, `tenantry stacks --write`, `tenantry plan {args.name}`"
        )
    return EXIT_OK
