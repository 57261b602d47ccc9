"""Mapping and normalising model ids: dated and moving suffixes, and a model's family, size class
and generation, from which successors and cheaper siblings are inferred (reviewed in rates.json).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# prices both identically (a snapshot priced differently stays a model of its own).
_SUFFIX_RES = (
    re.compile(r"-\d{8}$"),            # claude-sonnet-4-5-20250929
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # gpt-4.1-2025-04-14
    re.compile(r"-\d{4}$"),            # grok-4-0709, gpt-4-0613
    re.compile(r"-latest$"),           # grok-4-latest, claude-3-7-sonnet-latest
)

# Anthropic's dated ids are the real models: the undated base is the canonical id.
ANTHROPIC_RENAMES = ((re.compile(r"^claude-4-(opus|sonnet)-"), r"claude-\1-4-"),)


def suffix_base(model: str) -> str | None:
    for rx in _SUFFIX_RES:
        if rx.search(model):
            return rx.sub("", model)
    return None


TIER_RANK = {"tiny": 0, "small": 1, "medium": 2, "large": 3, "frontier": 4}
_CLAUDE_NEW = re.compile(r"^claude-(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d+))?$")
_CLAUDE_OLD = re.compile(r"^claude-(\d+)(?:-(\d+))?-(opus|sonnet|haiku)$")
_CLAUDE_CLASS = {"fable": "frontier", "mythos": "frontier", "opus": "large", "sonnet": "medium", "haiku": "small"}
_GPT = re.compile(r"^gpt-(\d+(?:\.\d+)?)(o)?(?:-(.*))?$")
_O_SERIES = re.compile(r"^o(\d+)(?:-(.*))?$")
_GEMINI = re.compile(r"^gemini-(\d+(?:\.\d+)?)-(pro|flash-lite|flash)(?:-(.*))?$")
_GROK = re.compile(r"^grok-(\d+)(?:[.-](\d{1,2}))?(?:-(.*))?$")  # grok-4, grok-4.20, grok-4-1-fast
_OPENAI_CLASS = {
    "pro": "frontier", "astra": "frontier", "cyber": "frontier", "rosalind": "frontier",
    "sol": "large", "terra": "medium", "mini": "small", "luna": "small", "nano": "tiny",
}


@dataclass(frozen=True)
class Lineage:
    lineage: str  # models whose versions are comparable ("claude", "gpt", "o", "gemini", "grok")
    family: str  # one product line across generations, e.g. "claude-sonnet", "gpt-mini"
    size: str | None  # size class within a generation
    version: Decimal | None  # generation, e.g. 4.6 for claude-sonnet-4-6, 4.2 for grok-4.20
    variant: bool  # a preview, dated, "latest" or specialised variant: never a successor target


def _dec(major: str, minor: str | None = None) -> Decimal:
    return Decimal(f"{major}.{minor}") if minor else Decimal(major)


def classify(model: str) -> Lineage | None:
    """Family, size class and generation from a canonical id (heuristic; reviewed in rates.json)."""
    variant_words = ("preview", "exp", "latest", "beta", "customtools", "chat", "search", "codex",
                     "deep-research", "multi-agent", "computer-use", "gv2", "robotics", "law")
    variant = any(w in model for w in variant_words) or suffix_base(model) is not None
    if m := _CLAUDE_NEW.match(model):
        name = m.group(1)
        return Lineage("claude", f"claude-{name}", _CLAUDE_CLASS[name], _dec(m.group(2), m.group(3)), variant)
    if m := _CLAUDE_OLD.match(model):
        name = m.group(3)
        return Lineage("claude", f"claude-{name}", _CLAUDE_CLASS[name], _dec(m.group(1), m.group(2)), variant)
    if model.startswith("claude-"):
        name = model.split("-")[1]
        return Lineage("claude", f"claude-{name}", _CLAUDE_CLASS.get(name), None, True)
    if m := _GPT.match(model):
        version, omni, rest = Decimal(m.group(1)), m.group(2), m.group(3) or ""
        words = [w for w in rest.split("-") if w and not w.isdigit()]
        size = next((_OPENAI_CLASS[w] for w in words if w in _OPENAI_CLASS), "large")
        flavour = "-".join(w for w in words if w in _OPENAI_CLASS or w in ("codex", "chat"))
        family = "gpt" + (f"-{flavour}" if flavour else "")
        if "turbo" in words:
            family = "gpt-turbo"
        return Lineage("gpt", family, size, version, variant or bool(omni and words and words != ["mini"]))
    if m := _O_SERIES.match(model):
        rest = m.group(2) or ""
        words = [w for w in rest.split("-") if w and not w.isdigit()]
        size = next((_OPENAI_CLASS[w] for w in words if w in _OPENAI_CLASS), "large")
        flavour = "-".join(w for w in words if w in _OPENAI_CLASS or w in ("deep", "research"))
        return Lineage("o", "o" + (f"-{flavour}" if flavour else ""), size, Decimal(m.group(1)), variant)
    if m := _GEMINI.match(model):
        line = m.group(2)
        size = {"pro": "large", "flash": "medium", "flash-lite": "small"}[line]
        return Lineage("gemini", f"gemini-{line}", size, Decimal(m.group(1)), variant or bool(m.group(3)))
    if model.startswith("gemini-") or model.startswith("gemma-"):
        line = "pro" if "pro" in model else "flash-lite" if "flash-lite" in model else "flash"
        size = {"pro": "large", "flash": "medium", "flash-lite": "small"}[line]
        if model.startswith("gemma-") or "gemma" in model:
            return Lineage("gemma", "gemma", "small", None, True)
        return Lineage("gemini", f"gemini-{line}", size, None, True)
    if m := _GROK.match(model):
        words = [w for w in (m.group(3) or "").split("-") if w]
        small = any(w in ("fast", "mini") for w in words)
        flavour = "-".join(w for w in words if w in ("fast", "mini"))
        plain = ("fast", "mini", "reasoning", "non")  # xAI's reasoning switch is not a variant
        return Lineage("grok", "grok" + (f"-{flavour}" if flavour else ""), "small" if small else "large",
                       _dec(m.group(1), m.group(2)), variant or any(w not in plain for w in words))
    if model.startswith("grok-"):
        return Lineage("grok", "grok-" + model.split("-")[1], "small", None, True)
    return None


def _std_price(entry: Mapping[str, Any]) -> Decimal:
    std = entry["rates"]["standard"]
    return Decimal(std["input"]) + Decimal(std["output"])


def infer_links(models: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, str | None]]:
    """Successor and cheaper sibling per model, from the ids and prices alone.

    Successor: the next generation of the same family (variants excluded; a preview's successor
    may be the release of its own generation). Cheaper sibling: in
    the same lineage and at most the same generation, the newest model of the nearest smaller
    size class that is actually cheaper.
    """
    info = {m: classify(m) for m in models}
    links: dict[str, dict[str, str | None]] = {}
    for model, lin in info.items():
        successor = sibling = None
        if lin is not None and lin.version is not None:
            # A preview is succeeded by the release of its own generation.
            preview = "preview" in model or "-exp" in model
            newer = [(o.version, m) for m, o in info.items() if o is not None and not o.variant
                     and o.family == lin.family and o.lineage == lin.lineage and o.version is not None
                     and (o.version > lin.version or (preview and o.version == lin.version))]
            if newer:
                successor = min(newer)[1]
            if lin.size is not None:
                rank = TIER_RANK[lin.size]
                for lower in sorted((r for r in TIER_RANK.values() if r < rank), reverse=True):
                    cands = [(o.version, _std_price(models[m]), m) for m, o in info.items()
                             if o is not None and not o.variant and o.lineage == lin.lineage
                             and o.size is not None and TIER_RANK[o.size] == lower
                             and o.version is not None and o.version <= lin.version
                             and _std_price(models[m]) < _std_price(models[model])]
                    if cands:
                        sibling = max(cands)[2]
                        break
        links[model] = {"successor": successor, "cheaper_sibling": sibling}
    return links


def family_and_rank(model: str, entry: Mapping[str, Any] | None) -> tuple[str | None, int | None]:
    """A model's family and size-class rank: the reviewed ones in its entry, else from its id."""
    lin = classify(model)
    family = (entry or {}).get("family") or (lin.family if lin else None)
    size = (entry or {}).get("tier") or (lin.size if lin else None)
    return family, TIER_RANK.get(size) if isinstance(size, str) else None


def successor_fits(model: str, entry: Mapping[str, Any], successor: str, other: Mapping[str, Any] | None) -> bool:
    """Is ``successor`` of the model's family and of its size class or a larger one?"""
    family, rank = family_and_rank(model, entry)
    s_family, s_rank = family_and_rank(successor, other)
    if family is None or family != s_family:
        return False
    return rank is None or s_rank is None or s_rank >= rank
