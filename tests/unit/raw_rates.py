"""rates.json folded by the tests' own reading of the format, independent of pricing/table.py, so a bug
in the loader (a price filled from the wrong rate, a patch applied wrongly) is not inherited by the
references the tests compare against."""

from __future__ import annotations

from datetime import date
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: a null removes a key, an object merges, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def fold_versions(document: dict[str, Any]) -> list[tuple[str, date, dict[str, Any]]]:
    """(version id, effective date, every model as of that version), oldest first."""
    folded: list[tuple[str, date, dict[str, Any]]] = []
    models: dict[str, Any] = {}
    for version in document["versions"]:
        models = merge_patch(models, version["models"])
        folded.append((version["id"], date.fromisoformat(version["effective"]), models))
    return folded
