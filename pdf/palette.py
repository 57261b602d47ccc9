"""One palette for every chart and table swatch: a colour per provider, and per model a shade of its
provider's colour picked by a stable hash of the model id, so a model has the same colour in every
report and chart, whatever else is on the page."""

from __future__ import annotations

import hashlib

PROVIDERS: dict[str, str] = {
    "anthropic": "#c8643b",
    "openai": "#10a37f",
    "gemini": "#3b6fd4",
    "xai": "#4a4a4a",
}
OTHER = "#8c8c8c"

# Shades per provider, light enough apart to tell side by side in print.
_SHADES: dict[str, list[str]] = {
    "anthropic": ["#c8643b", "#e08c5a", "#a44a26", "#f0b48a", "#7d3418", "#d9784a"],
    "openai": ["#10a37f", "#3cc49c", "#0b7a5f", "#7bdcbf", "#075443", "#22b58c"],
    "gemini": ["#3b6fd4", "#6a93e3", "#2450a6", "#9db8ef", "#163572", "#4f80dc"],
    "xai": ["#4a4a4a", "#777777", "#2b2b2b", "#a3a3a3", "#5e5e5e", "#919191"],
}
_OTHER_SHADES = ["#8c8c8c", "#b0b0b0", "#6b6b6b", "#cfcfcf"]


def provider_colour(provider: str) -> str:
    return PROVIDERS.get(provider, OTHER)


def model_colour(provider: str, model: str) -> str:
    shades = _SHADES.get(provider, _OTHER_SHADES)
    digest = hashlib.blake2b(model.encode(), digest_size=4).digest()  # stable across processes, unlike hash()
    return shades[int.from_bytes(digest, "big") % len(shades)]


TEXT = "#222222"
GRID = "#dddddd"
ACCENT = "#1f3a5f"  # the cost line over request volume
VOLUME = "#b8c4d6"
