"""The tier table: ordered isolation, one source of truth for every layer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from tenantry.spec import TIERS

ORDER = ["shared", "premium", "isolated", "dedicated"]


def test_tiers_are_ordered_by_isolation() -> None:
    values = [TIERS[t].priority_value for t in ORDER]
    assert values == sorted(values) and len(set(values)) == 4
    assert [TIERS[t].queue_priority for t in ORDER] == [2, 1, 1, 1]
    assert [TIERS[t].node_groups for t in ORDER] == [
        "forbidden",
        "forbidden",
        "allowed",
        "required",
    ]
    assert [TIERS[t].tenant_kms_key for t in ORDER] == [
        "allowed",
        "required",
        "required",
        "required",
    ]
    assert [TIERS[t].gpu_sharing for t in ORDER] == [
        "shared-gpus",
        "shared-gpus",
        "exclusive-gpus",
        "dedicated-nodes",
    ]
    caps = [TIERS[t].defaults.max_queue_depth for t in ORDER]
    assert caps == sorted(caps)


def test_priority_class_names_are_stable() -> None:
    assert {t: TIERS[t].priority_class for t in ORDER} == {
        "shared": "tenantry-shared",
        "premium": "tenantry-premium",
        "isolated": "tenantry-isolated",
        "dedicated": "tenantry-dedicated",
    }


def test_vector_db_limits_grow_with_the_tier() -> None:
    limits = [TIERS[t].defaults.vector_db for t in ORDER]
    for field in (
        "connection_limit",
        "statement_timeout_seconds",
        "lock_timeout_seconds",
        "idle_in_transaction_timeout_seconds",
    ):
        values = [getattr(v, field) for v in limits]
        assert values == sorted(values) and values[0] >= 1, field


def test_vector_db_limits_from_the_tenant_file_win_over_the_tier() -> None:
    from tenantry.spec import parse_text
    from tests.components.helpers import platform
    from tests.spec.helpers import doc

    d = doc("acme")
    d["spec"].setdefault("quotas", {})["vectorDb"] = {
        "connectionLimit": 3,
        "statementTimeoutSeconds": 2,
    }
    text = yaml.safe_dump(d, sort_keys=False)
    tenant, problems = parse_text(text, "acme.yaml", platform(), stem="acme")
    assert tenant is not None, problems
    tier = TIERS[tenant.tier.name].defaults.vector_db
    assert tenant.quotas.vector_db == dataclasses.replace(
        tier, connection_limit=3, statement_timeout_seconds=2
    )
    d["spec"]["quotas"]["vectorDb"] = {"connectionLimit": 0, "lockTimeout": 5}
    _, problems = parse_text(yaml.safe_dump(d), "acme.yaml", platform(), stem="acme")
    paths = {p.path for p in problems}
    assert paths == {"spec.quotas.vectorDb.connectionLimit", "spec.quotas.vectorDb.lockTimeout"}


def test_availability_objectives_rise_with_isolation() -> None:
    objectives = [TIERS[t].availability_objective for t in ORDER]
    assert objectives == [0.99, 0.999, 0.999, 0.9995]
    assert all(0.9 < o < 1 for o in objectives)


def test_the_tier_table_of_the_docs_states_the_tiers() -> None:
    """docs/tenant-file.md's tier table: each row's node groups, network, priority class and
    value, queue priority and availability objective are the tier's."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "tenant-file.md"
    rows = {
        cells[0]: cells
        for line in doc.read_text().splitlines()
        if line.startswith("| ")
        and (cells := [c.strip() for c in line.strip("|").split("|")])[0] in TIERS
    }
    assert sorted(rows) == sorted(TIERS)
    for name, t in TIERS.items():
        _, _, groups, _, network, pc, queue, slo = rows[name]
        assert (groups, network) == (t.node_groups, t.network_isolation), name
        assert pc == f"`{t.priority_class}` ({t.priority_value})", name
        assert int(queue) == t.queue_priority, name
        assert float(slo.rstrip("%")) == round(t.availability_objective * 100, 4), name
