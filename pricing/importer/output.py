"""Printing a proposal for a reviewer and writing rates.json so that a price change is a one-line diff."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pricing.importer.proposal import Proposal
from pricing.table import RateTable


def _flat(prefix: str, value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(f"{prefix}.{k}" if prefix else k, v)
    else:
        yield prefix, value


def summary_lines(p: Proposal) -> list[str]:
    """A reviewer's view of a proposal: one line per model, old -> new per changed price."""
    lines = [f"proposed version {p.version['id']} (effective {p.version['effective']}): "
             f"{len(p.added)} added, {len(p.changed)} changed, {len(p.removed)} removed, "
             f"{len(p.aliases)} new aliases"]
    for m in p.added:
        std = p.new_models[m]["rates"]["standard"]
        tiers = ",".join(p.new_models[m]["rates"])
        lc = p.new_models[m].get("long_context")
        lc_text = f" long-context>{lc['threshold']}" if lc else ""
        lines.append(f"  + {m} [{p.new_models[m]['provider']}] in {std['input']} out {std['output']}"
                     f" cache_read {std.get('cache_read', '-')} tiers {tiers}{lc_text}")
    for m, patch in p.changed.items():
        old = dict(_flat("", p.old_models[m]))
        for path, value in _flat("", patch):
            before = old.get(path, "-")
            if value is None:
                sub = [k for k in old if k == path or k.startswith(path + ".")]
                before = ", ".join(f"{k.removeprefix(path + '.')}={old[k]}" for k in sub) or before
                lines.append(f"  ~ {m} {path}: {before} -> (removed)")
            else:
                lines.append(f"  ~ {m} {path}: {before} -> {value}")
    for m in p.removed:
        lines.append(f"  - {m}")
    if p.absent and not p.removed:
        lines.append(f"  = {len(p.absent)} models absent upstream, kept (use --prune to remove): "
                     + ", ".join(p.absent))
    for a, c in p.aliases.items():
        lines.append(f"  @ {a} -> {c}")
    for note in p.conversion.derived:
        lines.append(f"  * {note}")
    for problem in p.conversion.problems:
        lines.append(f"  ! {problem}")
    lines.append(f"  ({len(p.conversion.skipped)} upstream entries skipped by the filter)")
    return lines


def _is_leaf(value: Any) -> bool:
    return isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values())


def dumps(document: Any, indent: int = 0) -> str:
    """JSON with one line per leaf object (a tier's rates), so a price change is a one-line diff."""
    pad = "  " * indent
    if isinstance(document, dict) and document and not (_is_leaf(document) and indent >= 4):
        items = [f'{pad}  {json.dumps(k)}: {dumps(v, indent + 1).lstrip()}' for k, v in document.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(document, list) and document:
        items = [f"{pad}  {dumps(v, indent + 1).lstrip()}" for v in document]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(document, ensure_ascii=False, separators=(", ", ": "))


def write_document(path: Path, document: Mapping[str, Any]) -> None:
    RateTable(document)  # never write a file the loader would refuse
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(dumps(document) + "\n", encoding="utf-8")
    tmp.replace(path)
