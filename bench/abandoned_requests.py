"""What Triton's queue policy buys when callers give up: abandoned HTTP requests during a
slowdown, with and without the generated ``default_queue_policy`` (docs/local-servers.md).

acme's ``fraud-detector`` config as Tenantry generates it (cap 128, deadline 1 s, REJECT) and
the same without the queue policy (``neither``, the baseline), each served by the REAL
tritonserver of the nvidia-pytriton wheel as a python-backend stand-in that is slow for the
whole run (``--base-ms`` per execution plus ``--per-item-ms`` per request of the batch).
``--slots`` threads emulate Knative's queue-proxy with that ``containerConcurrency``: each
sends an HTTP inference with a ``--give-up`` client timeout, and a caller that gives up
closes its connection and frees the slot for the next request, as the queue-proxy does
(knative/serving ``pkg/queue/handler.go``). Triton does not cancel HTTP requests (its user
guide, "Request Cancellation"), so each abandoned request stays queued. After ``--seconds``
the slots stop; the bench then reports how many requests Triton executed after their caller
had gone, how many it shed, and how long a new request waits for its answer (the backlog it
still has to work off). Usage:

    python bench/abandoned_requests.py [--seconds 10] [--slots 16] [--give-up 0.2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import threading
import time
from pathlib import Path

from batcher_stall import VARIANTS, generated_config

from tenantry.devserver import running_tritonserver, write_standin

MODEL = "fraud-detector"
BODY = json.dumps(
    {"inputs": [{"name": "features", "shape": [1, 64], "datatype": "FP32", "data": [0.0] * 64}]}
).encode()


def _infer(host: str, port: int, version: str, timeout: float) -> str:
    """'ok', 'rejected' (a Triton error answer) or 'abandoned' (the caller gave up)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", f"/v2/models/{MODEL}/versions/{version}/infer", BODY)
        return "ok" if conn.getresponse().status == 200 else "rejected"
    except TimeoutError:
        return "abandoned"
    finally:
        conn.close()


def _stats(host: str, port: int, version: str) -> dict[str, int]:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", f"/v2/models/{MODEL}/versions/{version}/stats")
    s = json.loads(conn.getresponse().read())["model_stats"][0]
    conn.close()
    return {
        "executed": int(s["inference_count"]),
        "failed": int(s["inference_stats"]["fail"]["count"]),
    }


def measure(variant: str, a: argparse.Namespace) -> dict[str, float]:
    version, cfg = generated_config()
    params = {"sleep_ms": str(a.base_ms), "per_item_ms": str(a.per_item_ms)}
    with tempfile.TemporaryDirectory(prefix="abandoned-") as tmp:
        write_standin(Path(tmp), MODEL, version, VARIANTS[variant](cfg), params)
        with running_tritonserver(Path(tmp), ["--disable-auto-complete-config"]) as server:
            host, port_s = server.http_url.rsplit(":", 1)
            port = int(port_s)
            base = _stats(host, port, version)  # warm-up executions
            counts = {"ok": 0, "rejected": 0, "abandoned": 0}
            lock = threading.Lock()
            stop = time.monotonic() + a.seconds

            def slot() -> None:
                while time.monotonic() < stop:
                    outcome = _infer(host, port, version, a.give_up)
                    with lock:
                        counts[outcome] += 1

            threads = [threading.Thread(target=slot) for _ in range(a.slots)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            start = time.monotonic()
            fresh = _infer(host, port, version, 600.0)
            recovery = time.monotonic() - start
            time.sleep(1.0)
            end = _stats(host, port, version)
    sent = sum(counts.values())
    executed = end["executed"] - base["executed"]
    return {
        "sent": sent,
        "answered": counts["ok"],
        "abandoned": counts["abandoned"],
        "executed": executed - 1,  # the fresh request was executed too
        "executed_abandoned": executed - 1 - counts["ok"],
        "shed": end["failed"] - base["failed"],
        "fresh_ok": float(fresh == "ok"),
        "recovery_s": recovery,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--slots", type=int, default=16)
    p.add_argument("--give-up", type=float, default=0.2, help="client timeout, seconds")
    p.add_argument("--base-ms", type=float, default=50.0)
    p.add_argument("--per-item-ms", type=float, default=25.0)
    a = p.parse_args()
    if a.seconds <= 0 or a.slots < 1 or a.give_up <= 0 or a.base_ms < 0 or a.per_item_ms < 0:
        p.error("--seconds, --slots, --give-up must be positive; --base-ms, --per-item-ms >= 0")
    print(
        f"{a.slots} slots, callers give up after {a.give_up} s, {a.seconds} s; model "
        f"{a.base_ms} ms + {a.per_item_ms} ms per request of a batch"
    )
    rows = {v: measure(v, a) for v in ("generated", "neither")}
    base = rows["neither"]  # the baseline, measured in the same run
    for variant, r in rows.items():
        print(
            f"{variant:10} sent {r['sent']:.0f}, answered {r['answered']:.0f}, abandoned "
            f"{r['abandoned']:.0f}; Triton executed {r['executed']:.0f} "
            f"({r['executed_abandoned']:.0f} after the caller had gone), shed {r['shed']:.0f}; "
            f"a new request then waited {r['recovery_s']:.2f} s "
            f"({r['recovery_s'] / base['recovery_s']:.2f}x neither's; answered: "
            f"{bool(r['fresh_ok'])})"
        )


if __name__ == "__main__":
    main()
