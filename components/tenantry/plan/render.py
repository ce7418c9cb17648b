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
            rows.append([name, "-", "0", "-", "-", "-", change])
            continue
        g = t["guardrails"]
        rows.append(
            [
                name,
                t["facts"]["tier"],
                str(t["resources"]["total"]),
                "pass" if g["passed"] else f"{len(g['violations'])} violation(s)",
                _reach_cell(t),
                f"{_money(t['cost']['monthlyUsdMin'])}-{_money(t['cost']['monthlyUsdMax'])}",
                change,
            ]
        )
    return rows


HEAD = [
    "tenant",
    "tier",
    "resources",
    "guardrails",
    "request path",
    "monthly cost (min-max)",
    "change",
]
STATUS = {
    "declared": "declared: reaches",
    "refused-declared": "DECLARED BUT REFUSED",
    "undeclared": "UNDECLARED: REACHES",
    "only-netpol": "UNDECLARED: only a NetworkPolicy stops it",
    "refused": "refused",
}
MD_STATUS = {
    "declared": "✅ declared",
    "refused-declared": "❌ declared, refused",
    "undeclared": "❌ **reaches (undeclared)**",
    "only-netpol": "⚠️ only a NetworkPolicy stops it",
    "refused": "·",
}


def _reach_cell(t: Mapping[str, Any]) -> str:
    rp = t.get("requestPath")
    if rp is None:
        return "-"
    return "pass" if rp["passed"] else f"{len(rp['violations'])} violation(s)"


def _reach_summary(rp: Mapping[str, Any]) -> str:
    """One line: the verdict, how much was checked, who reaches."""
    labels = {c["id"]: c["label"] for c in rp["callers"]}
    reached = sorted({labels[e["caller"]] for e in rp["edges"] if e["status"] == "declared"})
    checked = f"{len(rp['callers'])} caller classes x {len(rp['models'])} model(s)"
    if rp["passed"]:
        who = "; ".join(reached) if reached else "nobody"
        return f"only declared callers reach the models ({checked}); reached by: {who}"
    return f"FAILED ({checked}): {len(rp['violations'])} violation(s)"


def _reach_rows(rp: Mapping[str, Any], status: Mapping[str, str]) -> list[list[str]]:
    """Matrix rows: one per caller class; classes of one kind whose row is the same and that
    nobody declared are folded into one row (named), so a fleet's matrix stays readable."""
    rows: list[list[str]] = []
    folded: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for c in rp["callers"]:
        cells = tuple(rp["matrix"][m][c["id"]] for m in rp["models"])
        if all(x == "refused" for x in cells) and c["kind"] in (
            "tenant",
            "allowed",
            "system",
            "other",
        ):
            folded.setdefault((c["kind"], cells), []).append(c["label"])
            continue
        rows.append([c["label"], *(status[x] for x in cells)])
    for (kind, cells), labels in folded.items():
        shown = ", ".join(labels[:8]) + (f" and {len(labels) - 8} more" if len(labels) > 8 else "")
        name = labels[0] if len(labels) == 1 else f"{kind} ({len(labels)}): {shown}"
        rows.append([name, *(status[x] for x in cells)])
    return rows


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
        rp = t.get("requestPath")
        if rp is not None:
            out.append(f"  request path: {_reach_summary(rp)}")
            out += [f"  request path {v['kind']}: {v['message']}" for v in rp["violations"]]
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
        rp = t.get("requestPath")
        if rp is not None:
            out += _reach_markdown(rp)
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


def _reach_markdown(rp: Mapping[str, Any]) -> list[str]:
    out = [f"- **request path**: {_reach_summary(rp)}"]
    if rp["violations"]:
        out += ["", "Request path violations:"]
        out += [f"- `{v['kind']}` {v['message']}" for v in rp["violations"]]
    head = ["caller", *rp["models"]]
    out += ["", "<details><summary>Reachability matrix</summary>", ""]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in _reach_rows(rp, MD_STATUS)]
    paths = [e for e in rp["edges"] if e["paths"]]
    if paths:
        out += ["", "Paths of the callers that reach:", ""]
        labels = {c["id"]: c["label"] for c in rp["callers"]}
        for e in paths:
            model = e["model"].split("/", 1)[1]
            out.append(f"- {labels[e['caller']]} -> {model}: `{e['paths'][0]}`")
    out += ["", "</details>"]
    return out
