"""What a monthly finding would change, stated on the traffic it touches, so that checks/overlap.py can
take several findings together on one counterfactual bill instead of adding their quotes.

A `Lever` is one finding's counterfactual on the successful requests of one project and one model (as
reported): a finding whose traffic spans models (response-cache, long-context-tier) states one lever per
model, and their window savings add up to the finding's. Each kind is the change its check prices:

    MODEL          every request priced on `to` instead (model-downgrade, legacy-model)
    TIER           the requests on tier `tier` priced on tier `to` (batch-api: standard -> batch)
    NO_CACHE       cache reads and writes billed as plain input (cache-write-waste)
    CAP_REASONING  each answer's reasoning capped at its visible length (reasoning-overspend)
    PROMPT_CACHE   `request_ids` send their prompt through the cache: `reads` read it, the others write it
                   at the `cache_write` rate of the lifetime chosen (prompt-caching)
    DROP           `request_ids` are not sent at all: a response cache answers them (response-cache)
    BASE_RATES     `request_ids` trimmed under the long-context line: priced at base rates (long-context-tier)
"""

from __future__ import annotations

from dataclasses import dataclass

MODEL = "model"
TIER = "tier"
NO_CACHE = "no_cache"
CAP_REASONING = "cap_reasoning"
PROMPT_CACHE = "prompt_cache"
DROP = "drop"
BASE_RATES = "base_rates"
KINDS = frozenset({MODEL, TIER, NO_CACHE, CAP_REASONING, PROMPT_CACHE, DROP, BASE_RATES})
BY_REQUEST = frozenset({PROMPT_CACHE, DROP, BASE_RATES})  # levers that name the requests they change
CACHE_WRITES = ("cache_write", "cache_write_1h")  # the price table's write rates (pricing/providers.py)


@dataclass(frozen=True)
class Lever:
    kind: str
    project_id: int  # checks.usage.NO_PROJECT: unattributed traffic
    model: str  # as reported
    window_saving_nanos: int  # what this lever alone saves on this traffic over the window (before scaling)
    to: str | None = None  # MODEL: the model; TIER: the tier
    tier: str | None = None  # TIER: the tier the requests leave
    request_ids: frozenset[int] = frozenset()  # PROMPT_CACHE, DROP, BASE_RATES
    reads: frozenset[int] = frozenset()  # PROMPT_CACHE: the requests that read the cache
    cache_write: str | None = None  # PROMPT_CACHE: the writes' rate, 'cache_write' or 'cache_write_1h'

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown lever kind {self.kind!r}")
        if (self.kind in BY_REQUEST) != bool(self.request_ids):
            raise ValueError(f"a {self.kind} lever names its requests exactly when it changes requests one by one")
        if self.kind in (MODEL, TIER) and not self.to:
            raise ValueError(f"a {self.kind} lever says what it moves to")
        if (self.kind == PROMPT_CACHE) != (self.cache_write in CACHE_WRITES):
            raise ValueError("a prompt_cache lever, and only one, says the rate its writes pay")
        if self.window_saving_nanos < 0:
            raise ValueError("a lever never saves a negative amount")

    @property
    def scope(self) -> tuple[int, str]:
        return self.project_id, self.model
