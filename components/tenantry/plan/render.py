"""Plan documents as text: a terminal table, Markdown for a pull-request comment, or JSON."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ..policy.rules import RULES


def as_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _money(x: float) -> str:
    return f"${x:,.0f}"


def cost_text(cost: Mapping[str, Any]) -> str:
    """A tenant's monthly cost as a reviewer reads it: ``$573-$859``; ``CPU not priced``
    when nothing it runs is priced (never ``$0``); the share of the maximum the GPU quota
    would never admit, when there is one."""
    priced = any(line.get("priced", True) for line in cost["lines"])
    not_priced = cost.get("notPriced", [])
    if not priced and not_priced:
        text = "CPU not priced"
    else:
        text = f"{_money(cost['monthlyUsdMin'])}-{_money(cost['monthlyUsdMax'])}"
        if not_priced:
            text += " + CPU not priced"
    if cost.get("unreachableUsd"):
        text += f" (max capped by quota; {_money(cost['unreachableUsd'])} unreachable)"
    return text


def _counts(problems: list[Mapping[str, Any]]) -> str:
    errors = sum(1 for p in problems if p["severity"] == "error")
    warnings = len(problems) - errors
    parts = [f"{errors} error(s)"] if errors else []
    parts += [f"{warnings} warning(s)"] if warnings else []
    return ", ".join(parts) or "ok"


def problem_text(p: Mapping[str, Any]) -> str:
    """One problem in one line, as ``tenantry validate`` prints it."""
    where = f"{p['file']}:{p['line']}" if p.get("line") else p["file"]
    text = f"{where}: {p['severity']}: {p['path'] or '<document>'}: {p['message']}"
    if p.get("value") is not None:
        text += f" (given: {json.dumps(p['value'])})"
    if p.get("accepted"):
        text += f"; accepted: {p['accepted']}"
    return text


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
    invalid = doc.get("invalid", {})
    for name in sorted(set(doc["tenants"]) | set(diff) | set(invalid)):
        t = doc["tenants"].get(name)
        d = diff.get(name)
        change = ""
        if d:
            change = (
                f"{d['status']}: +{len(d['added'])} ~{len(d['changed'])} "
                f"-{len(d['removed'])}, cost {_delta(d['costDelta']['monthlyUsdMin'])}"
                f"/{_delta(d['costDelta']['monthlyUsdMax'])}"
            )
        if name in invalid:
            rows.append(
                [name, "-", "-", f"invalid: {_counts(invalid[name])}", "-", "-", "-", change]
            )
            continue
        if t is None:
            rows.append([name, "-", "0", "-", "-", "-", "-", change])
            continue
        g = t["guardrails"]
        rows.append(
            [
                name,
                t["facts"]["tier"],
                str(t["resources"]["total"]),
                _counts(t.get("problems", [])),
                "pass" if g["passed"] else f"{len(g['violations'])} violation(s)",
                _reach_cell(t),
                cost_text(t["cost"]),
                change,
            ]
        )
    return rows


HEAD = [
    "tenant",
    "tier",
    "resources",
    "validation",
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
    if doc.get("problems"):
        out += ["", "== platform and fleet"]
        out += [f"  {problem_text(p)}" for p in doc["problems"]]
    for name, problems in sorted(doc.get("invalid", {}).items()):
        out += ["", f"== {name} (not planned: its file has errors)"]
        out += [f"  {problem_text(p)}" for p in problems]
    for name, t in sorted(doc["tenants"].items()):
        out += ["", f"== {name}"]
        out += [f"  {k}: {v}" for k, v in t["facts"].items() if v not in ([], {}, None)]
        out += [f"  {problem_text(p)}" for p in t.get("problems", [])]
        out += [
            f"  guardrail {v['rule']}: {v['resource']}: {v['message']}"
            for v in t["guardrails"]["violations"]
        ]
        rp = t.get("requestPath")
        if rp is not None:
            out.append(f"  request path: {_reach_summary(rp)}")
            out += [f"  request path {v['kind']}: {v['message']}" for v in rp["violations"]]
        out += [
            f"  cost {line['item']}: {line['detail']}"
            for line in t["cost"]["lines"]
            if not line.get("priced", True) or line.get("unreachableUsd")
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


def _md_problems(problems: list[Mapping[str, Any]]) -> list[str]:
    return [f"- **{p['severity']}** `{p['code']}`: {problem_text(p)}" for p in problems]


def as_markdown(doc: Mapping[str, Any]) -> str:
    out = ["## Tenantry plan", "", "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    out += ["| " + " | ".join(r) + " |" for r in _summary_rows(doc)]
    if doc.get("problems"):
        out += ["", "### Platform and fleet", "", *_md_problems(doc["problems"])]
    for name, problems in sorted(doc.get("invalid", {}).items()):
        out += ["", f"### {name} (not planned: its file has errors)", "", *_md_problems(problems)]
    for name, t in sorted(doc["tenants"].items()):
        out += ["", f"### {name}", ""]
        for k, v in t["facts"].items():
            if v in ([], {}, None):
                continue
            shown = _shown(v)
            out.append(f"- **{k}**: {shown}")
        if t.get("problems"):
            out += ["", "Validation:", *_md_problems(t["problems"]), ""]
        if t["guardrails"]["violations"]:
            out += ["", "Guardrail violations:"]
            out += [
                f"- `{v['rule']}` {v['resource']}: {v['message']}"
                for v in t["guardrails"]["violations"]
            ]
        else:
            out.append(f"- **guardrails**: all {len(RULES)} rules pass")
        rp = t.get("requestPath")
        if rp is not None:
            out += _reach_markdown(rp)
        out += ["", "| cost item | detail | min/month | max/month |", "|---|---|---|---|"]
        out += [_md_cost_line(line) for line in t["cost"]["lines"]]
        if not t["cost"]["lines"]:
            out.append("| none | no GPU or CPU capacity declared | $0 | $0 |")
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


def _md_cost_line(line: Mapping[str, Any]) -> str:
    if not line.get("priced", True):
        return f"| {line['item']} | {line['detail']} | not priced | not priced |"
    high = _money(line["monthlyUsdMax"])
    if line.get("unreachableUsd"):
        high += f" (capped by quota; {_money(line['unreachableUsd'])} unreachable)"
    return f"| {line['item']} | {line['detail']} | {_money(line['monthlyUsdMin'])} | {high} |"
