"""Reading litellm's price table: which entries are imported, and one entry as a rates.json entry.

Input: ``model_prices_and_context_window.json`` as published by litellm (MIT License,
Copyright (c) 2023 Berri AI), or a subset of it.

What is imported (``excluded_reason``):
- providers ``anthropic``, ``openai``, ``gemini`` (the Gemini API, keys ``gemini/<id>``) and
  ``xai``; Vertex AI entries are skipped: Vertex is a different bill, not a provider of the meter;
- ``mode`` ``chat`` or ``responses``, with both an input and an output price per token;
- not realtime, audio, speech, transcription, search, image, live or music models
  (``EXCLUDED_NAME_PARTS``): they are billed per second, per query or per image as well.

Not imported: prices of service tiers the meter does not record (its ``service_tier`` is one of
standard, batch, flex, priority), e.g. OpenAI's ``_ultrafast``/``_decisions`` rates, and
OpenAI's 12-hour cache writes (``cache_write_tokens`` are 5-minute writes).

How prices become rates: each USD-per-token float is read through its shortest repr, so
``3.75e-06`` is exactly ``Decimal('0.00000375')``, times 1e6 gives the USD-per-million string
``"3.75"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing.compiled import SERVICE_TIERS
from pricing.entries import RatesError, usd_per_mtok_to_pico

UPSTREAM_PROVIDERS = {"anthropic": "anthropic", "openai": "openai", "gemini": "gemini", "xai": "xai"}
UPSTREAM_MODES = {"chat", "responses"}
EXCLUDED_NAME_PARTS = (
    "realtime", "audio", "tts", "transcribe", "search", "image", "-live", "live-", "lyria",
    "embedding", "container",
)
PREFIXES = ("gemini/", "xai/")

_KIND = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "cache_creation_input_token_cost": "cache_write",
}
_TIER = {None: "standard", "batches": "batch", "flex": "flex", "priority": "priority"}
# e.g. cache_creation_input_token_cost_above_1hr_above_100k_tokens_batches
_FIELD_RE = re.compile(
    r"^(?P<kind>" + "|".join(sorted(_KIND, key=len, reverse=True)) + r")"
    r"(?:_above_(?P<threshold>\d+)k_tokens)?(?:_(?P<tier>batches|flex|priority))?$"
)


def usd_per_mtok(value: object) -> str | None:
    """A litellm USD-per-token number as a USD-per-million decimal string (None if not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return format((Decimal(repr(float(value))) * 1_000_000).normalize(), "f")


def strip_prefix(key: str) -> str:
    for p in PREFIXES:
        if key.startswith(p):
            return key[len(p):]
    return key


def excluded_reason(key: str, entry: Mapping[str, Any]) -> str | None:
    """Why an upstream entry is not imported, or None if it is."""
    provider = entry.get("litellm_provider")
    if provider not in UPSTREAM_PROVIDERS:
        return f"provider {provider!r} is not billed by the meter"
    if entry.get("mode") not in UPSTREAM_MODES:
        return f"mode {entry.get('mode')!r} is not a chat model"
    name = strip_prefix(key).lower()
    part = next((p for p in EXCLUDED_NAME_PARTS if p in name), None)
    if part:
        return f"not a text chat model ({part.strip('-')})"
    if usd_per_mtok(entry.get("input_cost_per_token")) is None or usd_per_mtok(
        entry.get("output_cost_per_token")
    ) is None:
        return "no per-token input and output price"
    return None


def convert_entry(key: str, entry: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One upstream entry as a rates.json model entry (rates and facts only) and its problems."""
    problems: list[str] = []
    tiers: dict[str, dict[str, str]] = {}
    lc_tiers: dict[str, dict[str, str]] = {}
    thresholds: set[int] = set()
    for name, raw in entry.items():
        m = _FIELD_RE.match(name)
        if not m:
            continue
        rate = usd_per_mtok(raw)
        if rate is None:
            continue
        try:
            usd_per_mtok_to_pico(rate)
        except RatesError:
            problems.append(f"{key}: {name}={raw!r} is not a whole number of pico-USD per token; skipped")
            continue
        tier = _TIER[m.group("tier")]
        if m.group("threshold"):
            thresholds.add(int(m.group("threshold")) * 1000)
            lc_tiers.setdefault(tier, {})[_KIND[m.group("kind")]] = rate
        else:
            tiers.setdefault(tier, {})[_KIND[m.group("kind")]] = rate
    reasoning = usd_per_mtok(entry.get("output_cost_per_reasoning_token"))
    if reasoning is not None and reasoning != tiers.get("standard", {}).get("output"):
        problems.append(f"{key}: reasoning tokens priced unlike output ({reasoning}); billed as output")
    out: dict[str, Any] = {"provider": UPSTREAM_PROVIDERS[entry["litellm_provider"]]}
    for fname, ours in (("max_input_tokens", "context_window"), ("max_output_tokens", "max_output"),
                        ("prompt_cache_min_tokens", "min_cacheable_tokens")):
        value = entry.get(fname)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            out[ours] = int(value)
    dep = entry.get("deprecation_date")
    if isinstance(dep, str):
        out["deprecation_date"] = dep
    for tier, kinds in list(tiers.items()):
        if "input" not in kinds or "output" not in kinds:
            problems.append(f"{key}: {tier} tier lacks an input or output price; tier dropped")
            del tiers[tier]
    out["rates"] = {t: tiers[t] for t in SERVICE_TIERS if t in tiers}
    if lc_tiers:
        if len(thresholds) > 1:
            problems.append(f"{key}: several long-context thresholds {sorted(thresholds)}; long context dropped")
        else:
            lc = {t: _complete_lc(lc_tiers[t]) for t in SERVICE_TIERS if t in lc_tiers and t in tiers}
            lc = {t: v for t, v in lc.items() if v is not None}
            if lc:
                out["long_context"] = {"threshold": thresholds.pop(), "rates": lc}
    return out, problems


def _complete_lc(kinds: dict[str, str]) -> dict[str, str] | None:
    return kinds if "input" in kinds and "output" in kinds else None


def read_json(path: Path) -> Any:
    """A JSON file's value; RatesError naming the file and the place when it is not JSON."""
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise RatesError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise RatesError(f"{path} is not JSON: not UTF-8 text (byte {exc.start})") from None


def load_upstream(path: Path) -> dict[str, Any]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise RatesError(f"{path}: expected a JSON object of model -> entry")
    data.pop("sample_spec", None)  # litellm's documentation entry
    return data
