"""Noisy-neighbour benchmark: does one tenant's burst stay out of another tenant's latency?

Two example tenants' models on one REAL tritonserver (the nvidia-pytriton wheel's, on CPU):
the victim is acme's fraud-detector (premium), the aggressor globex's intent-classifier
(shared). Python-backend stand-ins emulate a GPU: each execution holds a device lock for
``base + per_item x batch`` ms, so executions on one device serialise as they do on a GPU.
The victim sends a steady open-loop load; the aggressor keeps a window of requests in flight,
far past capacity. Measured solo and under attack, for three set-ups:

1. triton-defaults/shared-device: configs with only the signature, batch size and one
   instance (what Triton does unless told otherwise), both models on one device;
2. tenantry/shared-device: the configs Tenantry generates (queue caps with REJECT,
   rate limiter with tier priority, deadlines, dynamic batching), one device;
3. tenantry/mig-slices: the same configs, each model on its own device, which is how
   Tenantry deploys them (each replica gets its own MIG slice from the planner).

Printed per set-up: victim p50/p99/errors solo and under attack, the p99 ratio, the
aggressor's goodput and rejection rate, and the bound no queueing can beat on one device
(victim solo p99 + one aggressor execution). Usage:

    python bench/noisy_neighbor.py [--seconds 10] [--victim-rps 20] [--window 64]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import Gateway, Input, Outcome, closed_loop, open_loop

from tenantry.devserver import running_tritonserver, write_standin
from tenantry.spec import ResolvedModel, load_platform, load_registry
from tenantry.triton import DEVICE_RESOURCE, model_config, serving_caps

ROOT = Path(__file__).resolve().parents[1]
VICTIM, AGGRESSOR = ("acme", "fraud-detector"), ("globex", "intent-classifier")
WORK_MS = {VICTIM: (3.0, 0.2), AGGRESSOR: (6.0, 0.5)}  # (base, per item) per execution


@dataclass(frozen=True)
class Setup:
    name: str
    generated: bool  # Tenantry's Triton configs, else Triton defaults
    gateway: bool  # Tenantry's gateway rate limit + containerConcurrency in front
    shared_device: bool


SETUPS = [
    Setup("triton-defaults, one device", False, False, True),
    Setup("tenantry Triton configs only, own MIG slices", True, False, False),
    Setup("tenantry (gateway + configs), one device", True, True, True),
    Setup("tenantry (gateway + configs), own MIG slices", True, True, False),
]


def defaults_config(generated: str) -> str:
    """Triton's defaults for the same model: drop dynamic batching and the rate limiter."""
    text = re.sub(r"(?ms)^dynamic_batching \{.*?^\}\n", "", generated)
    return re.sub(r"(?ms)^    rate_limiter \{.*?^    \}\n", "", text)


def _inputs(m: ResolvedModel) -> list[Input]:
    return [
        Input(t.name, t.data_type, (1, *[1 if d == -1 else d for d in t.dims])) for t in m.inputs
    ]


def run_setup(setup: Setup, seconds: float, rate: float, window: int) -> dict[str, object]:
    reg = load_registry([ROOT / "tenants"], load_platform(ROOT / "stacks"))
    models = {}
    with tempfile.TemporaryDirectory(prefix="tenantry-nn-") as tmp:
        repo = Path(tmp) / "repo"
        for key in (VICTIM, AGGRESSOR):
            t = reg.tenants[key[0]]
            m = next(x for x in t.models if x.name == key[1])
            models[key] = m
            text = model_config(m, t.tier, serving_caps(t), m.version, t.name)
            if not setup.generated:
                text = defaults_config(text)
            if not setup.shared_device:
                # each MIG slice is a device of its own, also to the rate limiter's per-device
                # resource (the CPU stand-ins would otherwise all count as one device)
                text = text.replace(f'name: "{DEVICE_RESOURCE}"', f'name: "device_{m.name}"')
            lock = Path(tmp) / ("device.lock" if setup.shared_device else f"{m.name}.lock")
            base, per_item = WORK_MS[key]
            write_standin(
                repo,
                m.name,
                m.version,
                text,
                {"sleep_ms": str(base), "per_item_ms": str(per_item), "device_lock": str(lock)},
            )
        args = ["--disable-auto-complete-config"]
        if setup.generated:
            args.append("--rate-limit=execution_count")
        with running_tritonserver(repo, args) as server:
            url = server.grpc_url
            victim_in, aggressor_in = _inputs(models[VICTIM]), _inputs(models[AGGRESSOR])
            open_loop(url, VICTIM[1], victim_in, rate, 1.0, Outcome())  # warm-up
            solo = Outcome()
            open_loop(url, VICTIM[1], victim_in, rate, seconds, solo)
            stop, flood = threading.Event(), Outcome()
            agg_tenant = reg.tenants[AGGRESSOR[0]]
            caps = serving_caps(agg_tenant)
            gateway = (
                Gateway(caps.requests_per_second, caps.container_concurrency)
                if setup.gateway
                else None
            )
            thread = threading.Thread(
                target=closed_loop,
                args=(url, AGGRESSOR[1], aggressor_in, window, stop, flood),
                kwargs={"gateway": gateway},
            )
            thread.start()
            time.sleep(1.0)
            attacked = Outcome()
            open_loop(url, VICTIM[1], victim_in, rate, seconds, attacked)
            stop.set()
            thread.join()
    agg = models[AGGRESSOR]
    batch = agg.max_batch_size if setup.generated else 1
    exec_ms = WORK_MS[AGGRESSOR][0] + WORK_MS[AGGRESSOR][1] * batch
    return {
        "setup": setup,
        "solo": solo,
        "attacked": attacked,
        "flood": flood,
        "gateway": gateway,
        "bound_ms": solo.pct(99) + exec_ms if setup.shared_device else None,
        "aggressor_exec_ms": exec_ms,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--victim-rps", type=float, default=20.0)
    p.add_argument("--window", type=int, default=64, help="aggressor requests in flight")
    a = p.parse_args()
    print(
        f"victim: {VICTIM[0]}/{VICTIM[1]} open loop {a.victim_rps:g} req/s for "
        f"{a.seconds:g} s; aggressor: {AGGRESSOR[0]}/{AGGRESSOR[1]} closed loop, "
        f"{a.window} in flight; stand-in work (base + per item, ms): victim "
        f"{WORK_MS[VICTIM]}, aggressor {WORK_MS[AGGRESSOR]}"
    )
    print(
        "| set-up | victim p50 / p99 solo (ms) | victim p50 / p99 under attack (ms) | "
        "p99 attack/solo | victim errors | aggressor goodput (req/s) | aggressor rejected "
        "by Triton | refused at the gateway (attempts) | bound on one device (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for setup in SETUPS:
        r = run_setup(setup, a.seconds, a.victim_rps, a.window)
        solo, att, flood = r["solo"], r["attacked"], r["flood"]
        assert isinstance(solo, Outcome) and isinstance(att, Outcome)
        assert isinstance(flood, Outcome)
        bound, gw = r["bound_ms"], r["gateway"]
        rejected = flood.failed / flood.sent if flood.sent else 0.0
        print(
            f"| {setup.name} | {solo.pct(50):.1f} / {solo.pct(99):.1f} | "
            f"{att.pct(50):.1f} / {att.pct(99):.1f} | {att.pct(99) / solo.pct(99):.2f}x | "
            f"{solo.failed + att.failed} | {flood.ok / flood.seconds:.0f} | "
            f"{rejected:.0%} | "
            f"{gw.refused if isinstance(gw, Gateway) else '-'} | "
            f"{'n/a (own device)' if bound is None else f'{bound:.1f}'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
