"""How often a sequential request waits tritonserver's 500 ms dynamic-batcher timeout
(docs/local-servers.md, "Known defect"), per ``dynamic_batching`` variant, in one run.

acme's ``fraud-detector`` config as Tenantry generates it (a queue policy, no priority
levels), served as a python-backend stand-in by the REAL tritonserver of the nvidia-pytriton
wheel (``--rate-limit=execution_count``, as the verify tests run it), and variants: with the
priority levels Tenantry generated before (``with-priorities``), priority levels without the
queue policy, neither, and two instances. Each variant gets a fresh server,
20 unmeasured requests, then ``--requests`` sequential ones (one in flight). A stall is a
request over 450 ms. The variant ``neither`` (no priority levels, no queue policy: Triton
keeps payload prefetching) is the baseline each rate is compared with. Usage:

    python bench/batcher_stall.py [--requests 5000] [--protocol grpc|http] [--variants a,b]

Prints one line per variant: stalls, rate, p50/p99/p99.9/max, and the stalls' durations.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tenantry.devserver import running_tritonserver, write_standin
from tenantry.spec import load_platform, load_registry
from tenantry.triton import model_config, serving_caps

ROOT = Path(__file__).resolve().parents[1]
TENANT, MODEL = "acme", "fraud-detector"
STALL_MS = 450.0  # the defect's waits measured 501-558 ms; other hiccups here stayed < 300
_QUEUE_POLICY = re.compile(r"  default_queue_policy \{\n(?:    .*\n)*?  \}\n")
_BATCHER = re.compile(r"(dynamic_batching \{\n  max_queue_delay_microseconds: \d+\n)")
# what Tenantry generated before it dropped them (tenantry.triton.config)
_PRIORITIES = r"\1  priority_levels: 2\n  default_priority_level: 1\n"


def _sub(pattern: re.Pattern[str], repl: str) -> Callable[[str], str]:
    def edit(cfg: str) -> str:
        out, n = pattern.subn(repl, cfg)
        if n != 1:
            raise SystemExit(f"the generated config no longer has {pattern.pattern!r}")
        return out

    return edit


VARIANTS: dict[str, Callable[[str], str]] = {
    "generated": lambda cfg: cfg,  # queue policy, no priority levels
    "with-priorities": _sub(_BATCHER, _PRIORITIES),  # as generated until 2026-11-30
    "priorities-only": lambda cfg: _sub(_BATCHER, _PRIORITIES)(_sub(_QUEUE_POLICY, "")(cfg)),
    "neither": _sub(_QUEUE_POLICY, ""),
    "two-instances": _sub(re.compile(r"count: 1\n(    kind)"), r"count: 2\n\1"),
}


def generated_config() -> tuple[str, str]:
    registry = load_registry([ROOT / "tenants"], load_platform(ROOT / "stacks"))
    t = registry.tenants[TENANT]
    m = next(x for x in t.models if x.name == MODEL)
    return m.version, model_config(m, t.tier, serving_caps(t), m.version, t.name)


@dataclass(frozen=True)
class Row:
    variant: str
    stalls: list[float]  # ms, sorted
    rate: float
    p50: float
    p99: float
    p999: float
    max: float


def measure(variant: str, requests: int, protocol: str) -> Row:
    if protocol == "grpc":
        import tritonclient.grpc as client
    else:
        import tritonclient.http as client
    version, cfg = generated_config()
    with tempfile.TemporaryDirectory(prefix="batcher-stall-") as tmp:
        repo = Path(tmp)
        write_standin(repo, MODEL, version, VARIANTS[variant](cfg))
        args = ["--disable-auto-complete-config", "--rate-limit=execution_count"]
        with running_tritonserver(repo, args) as server:
            url = server.grpc_url if protocol == "grpc" else server.http_url
            c = client.InferenceServerClient(url)
            x = client.InferInput("features", [1, 64], "FP32")
            x.set_data_from_numpy(np.zeros((1, 64), np.float32))
            for _ in range(20):
                c.infer(MODEL, [x], model_version=version)
            lat = []
            for _ in range(requests):
                start = time.perf_counter()
                c.infer(MODEL, [x], model_version=version)
                lat.append((time.perf_counter() - start) * 1000.0)
    stalls = sorted(v for v in lat if v > STALL_MS)
    p50, p99, p999 = (float(np.percentile(lat, q)) for q in (50, 99, 99.9))
    return Row(variant, stalls, len(stalls) / requests, p50, p99, p999, max(lat))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--protocol", choices=("grpc", "http"), default="grpc")
    p.add_argument("--variants", default=",".join(VARIANTS))
    a = p.parse_args()
    names = [v for v in a.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or a.requests < 1:
        p.error(f"--variants: unknown {unknown}, accepted {sorted(VARIANTS)}; --requests >= 1")
    if "neither" not in names:
        names.append("neither")  # the baseline, measured in the same run
    rows = [measure(v, a.requests, a.protocol) for v in names]
    base = next(r for r in rows if r.variant == "neither")
    print(f"{a.requests} sequential {a.protocol} requests per variant, stall = over {STALL_MS} ms")
    for r in rows:
        extra = len(r.stalls) - len(base.stalls)
        print(
            f"{r.variant:16} stalls {len(r.stalls):4} ({r.rate:.3%}, {extra:+d} vs neither)  "
            f"p50 {r.p50:.1f}  p99 {r.p99:.1f}  p99.9 {r.p999:.1f}  max {r.max:.1f} ms  "
            f"stalls {[round(v, 1) for v in r.stalls[:6]]}"
        )


if __name__ == "__main__":
    main()
