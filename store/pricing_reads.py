"""Reads for the price table's traffic lint: which models and service tiers the meter has seen."""

from __future__ import annotations

from typing import Any

from psycopg import Connection

DISTINCT_MODEL_TIERS_SQL = (
    "select distinct provider, model, service_tier from meter.requests order by provider, model, service_tier"
)


def distinct_provider_model_tiers(conn: Connection[Any]) -> list[tuple[str, str, str]]:
    """Every (provider, model, service_tier) in meter.requests, across all workspaces: the one read of the
    fleet that crosses workspaces on purpose (a model without a rate is a gap in the shared price table,
    whoever sent the request). The
    fleet's role, which row-level security confines to one workspace, reads them through the narrow
    function that returns these and nothing else (store/row_security.py)."""
    from store.tenancy import may_execute

    with conn.cursor() as cur:
        narrow = may_execute(conn, "meter.fleet_models_in_traffic()")
        cur.execute("select * from meter.fleet_models_in_traffic()" if narrow else DISTINCT_MODEL_TIERS_SQL)
        return [(str(provider), str(model), str(tier)) for provider, model, tier in cur.fetchall()]
