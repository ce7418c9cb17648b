"""Render verification results as a table or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from .checks import CheckResult


def as_json(results: Sequence[CheckResult]) -> str:
    return (
        json.dumps(
            {
                "ok": all(r.ok for r in results) and bool(results),
                "failed": sum(not r.ok for r in results),
                "skipped": sum(r.skipped for r in results),
                "checks": [asdict(r) for r in results],
            },
            indent=2,
        )
        + "\n"
    )


def as_table(results: Sequence[CheckResult]) -> str:
    rows = [("TENANT", "MODEL", "VERSION", "CHECK", "RESULT", "DETAIL")]
    rows += [(r.tenant, r.model, r.version, r.check, _result(r), r.detail) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=True)) + "  " + row[5]
        for row in rows
    ]
    failed = sum(not r.ok for r in results)
    skipped = sum(r.skipped for r in results)
    lines.append(f"{len(results) - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return "\n".join(lines) + "\n"


def _result(r: CheckResult) -> str:
    return "skip" if r.skipped else "ok" if r.ok else "FAIL"
