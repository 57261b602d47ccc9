"""Diffing against the table: the version an import would append, as a merge patch over the latest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pricing.entries import RatesError, fold_versions
from pricing.importer.convert import Conversion, complete_entries, convert, link_kept_models
from pricing.importer.upstream import read_json
from pricing.table import RateTable


def diff_patch(old: Any, new: Any) -> Any:
    """The RFC 7396 merge patch turning old into new (None when they are equal)."""
    if isinstance(old, dict) and isinstance(new, dict):
        patch: dict[str, Any] = {}
        for k in old:
            if k not in new:
                patch[k] = None
        for k, v in new.items():
            if k not in old:
                patch[k] = v
            elif old[k] != v:
                sub = diff_patch(old[k], v)
                patch[k] = sub
        return patch or None
    return None if old == new else new


@dataclass
class Proposal:
    version: dict[str, Any]  # the version object to append
    added: list[str]
    changed: dict[str, Any]  # model -> merge patch
    absent: list[str]  # in the table, not upstream (kept unless pruned)
    removed: list[str]
    aliases: dict[str, str]  # new aliases
    old_models: dict[str, Any]
    new_models: dict[str, Any]
    conversion: Conversion

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.aliases)


def load_document(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"format": 1, "aliases": {}, "versions": []}
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise RatesError(f"{path}: expected a JSON object with 'versions'")
    return doc


def propose(document: Mapping[str, Any], upstream: Mapping[str, Any], *, effective: date,
            source: str, note: str | None = None, prune: bool = False) -> Proposal:
    """The version an import of ``upstream`` would append to ``document``."""
    versions = document.get("versions") or []
    if versions:
        folded = fold_versions(document)
        last = folded[-1][0]
        if effective <= last.effective:
            raise RatesError(f"effective {effective} must be after the latest version ({last.effective})")
        current: dict[str, Any] = folded[-1][1]
        table: RateTable | None = RateTable(document)
    else:
        current, table = {}, None
    conv = convert(upstream, table, document.get("aliases"))
    new_models = complete_entries(conv, current)
    added = sorted(m for m in new_models if m not in current)
    changed: dict[str, Any] = {}
    for m in sorted(new_models):
        if m in current:
            patch = diff_patch(current[m], new_models[m])
            if patch is not None:
                changed[m] = patch
    absent = sorted(m for m in current if m not in new_models)
    removed = absent if prune else []
    if not prune:
        for m, entry in link_kept_models(current, new_models).items():
            changed[m] = diff_patch(current[m], entry)
        changed = dict(sorted(changed.items()))
    known_aliases = dict(document.get("aliases") or {})
    aliases = {a: c for a, c in sorted(conv.aliases.items())
               if known_aliases.get(a) != c and a not in current and a not in new_models}
    patch_models: dict[str, Any] = {m: new_models[m] for m in added}
    patch_models.update(changed)
    patch_models.update({m: None for m in removed})
    version: dict[str, Any] = {"id": effective.isoformat(), "effective": effective.isoformat(), "source": source}
    if note:
        version["note"] = note
    version["models"] = {m: patch_models[m] for m in sorted(patch_models)}
    return Proposal(version, added, changed, absent, removed, aliases, dict(current), new_models, conv)


def apply(document: Mapping[str, Any], proposal: Proposal) -> dict[str, Any]:
    """The document with the proposal appended (aliases merged, sorted)."""
    out = dict(document)
    out.setdefault("format", 1)
    aliases = {**(document.get("aliases") or {}), **proposal.aliases}
    out["aliases"] = dict(sorted(aliases.items()))
    out["versions"] = [*(document.get("versions") or []), proposal.version]
    return out
