"""The one place that knows what a token costs, on what date.

    table = load_rates()                      # the packaged, dated rates.json
    batch = price_requests(table, model=..., service_tier=..., input_tokens=..., ...)
    batch.cost_nanos[batch.priced]            # integer nano-USD; check .priced, never assume 0

Money is integer nano-USD (1 USD = 1_000_000_000); rates are integer pico-USD per token.
"""

from pricing.compiled import SERVICE_TIERS, TOKEN_KINDS, CompiledRates
from pricing.cost import PricedBatch, PricedOne, price_one, price_requests
from pricing.entries import UNPRICED_VERSION, ModelRates, RatesError, TierRates, VersionInfo
from pricing.providers import PROVIDERS, CacheLifetime, ProviderFacts
from pricing.table import RateTable, load_rates

__all__ = [
    "PROVIDERS",
    "SERVICE_TIERS",
    "TOKEN_KINDS",
    "UNPRICED_VERSION",
    "CacheLifetime",
    "CompiledRates",
    "ModelRates",
    "PricedBatch",
    "PricedOne",
    "ProviderFacts",
    "RateTable",
    "RatesError",
    "TierRates",
    "VersionInfo",
    "load_rates",
    "price_one",
    "price_requests",
]
