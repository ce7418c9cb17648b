"""Plan documents as text: a terminal table, Markdown for a pull-request comment, or JSON."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any


def as_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _money(x: float) -> str:
    return f"${x:,.0f}"


def _delta(x: float) -> str:
    return f"{'+' if x > 0 else '-' if x < 0 else '±'}${abs(x):,.0f}"


def tree(records: list[Mapping[str, Any]]) -> list[str]:
    children: dict[str | None, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        children[r.get("parent")].append(r)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (str(r["type"]), str(r["name"]))):
            lines.append(f"{'  ' * depth}{r['type']} {r['name']}")
            walk(str(r["urn"]), depth + 1)

    walk(None, 0)
    return lines


def _summary_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    diff = doc.get("diff", {}).get("tenants", {})
    for name in sorted(set(doc["tenants"]) | set(diff)):
        t = doc["tenants"].get(name)
        d = diff.get(name)
        change = ""
        if d:
            change = (
                f"{d['status']}: +{len(d['added'])} ~{len(d['changed'])} "
                f"-{len(d['removed'])}, cost {_delta(d['costDelta']['monthlyUsdMin'])}"
                f"/{_delta(d['costDelta']['monthlyUsdMax'])}"
            )
        if t is None:
            rows.append([name, "-", "0", "-", "-", change])
            continue
        g = t["guardrails"]
        rows.append(
            [
                name,
                t["facts"]["tier"],
                str(t["resources"]["total"]),
                "pass" if g["passed"] else f"{len(g['violations'])} violation(s)",
                f"{_money(t['cost']['monthlyUsdMin'])}-{_money(t['cost']['monthlyUsdMax'])}",
                change,
            ]
        )
    return rows


HEAD = ["tenant", "tier", "resources", "guardrails", "monthly cost (min-max)", "change"]


def as_table(doc: Mapping[str, Any]) -> str:
    rows = [HEAD, *_summary_rows(doc)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEAD))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for name, t in sorted(doc["tenants"].items()):
        out += ["", f"== {name}"]
        out += [f"  {k}: {v}" for k, v in t["facts"].items() if v not in ([], {}, None)]
        out += [
            f"  guardrail {v['rule']}: {v['resource']}: {v['message']}"
            for v in t["guardrails"]["violations"]
        ]
    out += _diff_lines(doc, markdown=False)
    return "\n".join(out) + "\n"


def _diff_lines(doc: Mapping[str, Any], markdown: bool) -> list[str]:
    diff = doc.get("diff")
    if not diff:
        return []
    out = ["", "### Changes against the base" if markdown else "== changes against the base"]
    bullet = "- " if markdown else "  "
    code = "`" if markdown else ""
    for name, d in sorted(diff["tenants"].items()):
        if d["status"] == "unchanged":
            continue
        title = f"**{name}**" if markdown else name
        out.append(
            f"{bullet}{title} ({d['status']}), monthly cost "
            f"{_delta(d['costDelta']['monthlyUsdMin'])} (min) / "
            f"{_delta(d['costDelta']['monthlyUsdMax'])} (max)"
        )
        out += [f"  {bullet}+ {code}{r}{code}" for r in d["added"]]
        out += [f"  {bullet}- {code}{r}{code}" for r in d["removed"]]
        for c in d["changed"]:
            out.append(f"  {bullet}~ {code}{c['resource']}{code}")
            out += [
                f"    {bullet}{code}{f['path']}{code}: {json.dumps(f['before'])} -> "
                f"{json.dumps(f['after'])}"
                for f in c["fields"]
            ]
    gpus = diff["reconfiguredGpus"]
    if gpus:
        out.append(f"{bullet}GPUs the fleet planner re-partitions (each is drained first):")
        out += [
            f"  {bullet}{g['pool']} node {g['node']} gpu {g['gpu']}: {g['before']} -> "
            f"{g['after']} (tenants: {', '.join(g['tenants']) or 'none'})"
            for g in gpus
        ]
    return out


def _shown(value: Any, nested: bool = False) -> str:
    """A fact as Markdown text: lists comma-separated, mappings ``key: value``."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {_shown(v, nested=True)}" for k, v in value.items())
        return "{" + inner + "}" if nested else inner
    return str(value)


def as_markdown(doc: Mapping[str, Any]) -> str:
    out = ["## Tenantry plan", "", "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    out += ["| " + " | ".join(r) + " |" for r in _summary_rows(doc)]
    for name, t in sorted(doc["tenants"].items()):
        out += ["", f"### {name}", ""]
        for k, v in t["facts"].items():
            if v in ([], {}, None):
                continue
            shown = _shown(v)
            out.append(f"- **{k}**: {shown}")
        if t["guardrails"]["violations"]:
            out += ["", "Guardrail violations:"]
            out += [
                f"- `{v['rule']}` {v['resource']}: {v['message']}"
                for v in t["guardrails"]["violations"]
            ]
        else:
            out.append("- **guardrails**: all 8 rules pass")
        out += ["", "| cost item | detail | min/month | max/month |", "|---|---|---|---|"]
        out += [
            f"| {line['item']} | {line['detail']} | {_money(line['monthlyUsdMin'])} | "
            f"{_money(line['monthlyUsdMax'])} |"
            for line in t["cost"]["lines"]
        ]
        out += ["", f"<details><summary>{t['resources']['total']} resources</summary>", "", "```"]
        out += [f"{n:4d}  {ty}" for ty, n in t["resources"]["byType"].items()]
        out += ["", *tree(t["records"]), "```", "</details>"]
    out += _diff_lines(doc, markdown=True)
    return "\n".join(out) + "\n"
