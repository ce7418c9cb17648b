"""How ``tenantry cost`` shows a shared base model's price split across its tenants (the
plan's split by declared tokensPerMinute and ``--actual``'s by measured tokens alike)."""

from __future__ import annotations

from typing import Any

from ..cost import BaseModelSplit


def split_text(sp: BaseModelSplit, period: str) -> str:
    """One line per shared base model: its price (``period``: "/month", " over 30d"), the
    basis of the split and each tenant's part (``llm-base`` rows carry the same figures per
    tenant)."""
    rates = sp.rates
    head = (
        f"shared base model {rates.base_model}: {rates.describe(sp.gpu)} = ${sp.usd:,.2f}{period}"
    )
    if not sp.shares:
        return f"{head}, not attributed: no {sp.basis} on it"
    parts = ", ".join(
        f"{t} {w:,.0f} ({share:.1%}) ${usd:,.2f}"
        for t in sp.tenants()
        for w, share, usd in [sp.of_tenant(t)]
    )
    return f"{head}, split by {sp.basis}: {parts}"


def split_json(sp: BaseModelSplit) -> dict[str, Any]:
    return {
        "baseModel": sp.rates.base_model,
        "basis": sp.basis,
        "replicas": sp.rates.replicas,
        "gpu": sp.gpu,
        "gpus": round(sp.rates.gpus, 6),
        "instanceType": sp.rates.instance_type,
        "usdPerGpuHour": sp.rates.usd_per_gpu_hour,
        "usd": round(sp.usd, 6),
        "unattributedUsd": round(sp.unattributed_usd, 6),
        "adapters": [
            {
                "tenant": a.tenant,
                "adapter": a.adapter,
                "model": a.served_name,
                "weight": a.weight,
                "share": round(a.share, 6),
                "usd": round(a.usd, 6),
            }
            for a in sp.shares
        ],
    }
