"""What the catalog's quotes add up to when some of them are alternatives.

`model-downgrade` and `legacy-model` both replace the model a project calls. When both fire on the
same project and model only one swap can be taken, so a total counts the larger quote of the two once.
Every other quote counts in full. (Levers of different kinds on the same traffic, a swap and batching
say, compound rather than add: after a swap, batching saves its share of the cheaper bill. Their
sum over-states what taking both saves; the quotes are listed one by one, and this is left as is.)
"""

from __future__ import annotations

from collections.abc import Iterable

from checks import legacy_model, model_downgrade

SWAPS = frozenset({model_downgrade.ID, legacy_model.ID})


def attainable_total(quotes: Iterable[tuple[str, int]]) -> int:
    """The sum of (fingerprint, monthly saving) quotes, alternative swaps of one model in one project
    counted once (the larger). A fingerprint is `check:project:subject`; a swap's subject `model->target`."""
    total = 0
    largest_swap: dict[tuple[str, str], int] = {}
    for fingerprint, saving in quotes:
        parts = fingerprint.split(":", 2)  # a model name may hold a ':' itself
        if len(parts) == 3 and parts[0] in SWAPS:
            replaced = (parts[1], parts[2].rsplit("->", 1)[0])
            largest_swap[replaced] = max(largest_swap.get(replaced, 0), saving)
        else:
            total += saving
    return total + sum(largest_swap.values())
