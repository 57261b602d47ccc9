"""What a seed planted, told to a person: one short plain sentence with figures per pattern.

``SeedReport.lines()`` and ``to_dict()`` keep the developer's view (prompt hashes, where-clauses)
for tests and for ``seed --json``; the demo and ``seed`` print this one (``seed`` through ``told``).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from core.money import format_dollars, money, ratio_percent, reconciled
from synthetic.report import SeedReport

Entry = Mapping[str, Any]


def planted_story(report: SeedReport) -> list[tuple[str, str]]:
    """(heading, sentence) per planted pattern, in the seed's order; billing as one line per provider."""
    story: list[tuple[str, str]] = []
    statements: list[Entry] = []
    for entry in report.planted:
        pattern = entry["pattern"]
        if pattern == "billing_variance":
            statements.append(entry)
        elif not entry["rows"]:  # the pattern fell outside the seeded days: its note says why
            story.append((_HEADINGS.get(pattern, pattern), f"none in these days: {entry['what']}."))
        else:
            story.append((_HEADINGS.get(pattern, pattern), _SENTENCES.get(pattern, _plain)(entry)))
    story += _billing(statements)
    return story


def told(report: SeedReport, width: int) -> list[str]:
    """What `seed` prints: what it wrote and the planted story, wrapped at `width` (the terminal's) with
    textwrap, as plain text rather than rich markup, so it stays readable when piped to a file."""
    width = max(width, 40)
    verb = "appended to" if report.appended else "seeded"
    lines = textwrap.wrap(
        f"{verb} workspace '{report.slug}' (id {report.workspace_id}): {report.requests:,} requests over "
        f"{report.days} days, {report.first_day} to {report.last_day}, logged {money(report.cost_nanos)}.",
        width, subsequent_indent="  ")
    story = planted_story(report)
    if story:
        lines.append("Planted, for the analysis to find:")
    for heading, sentence in story:
        text = f"{heading}: {sentence}" if heading else sentence
        lines += textwrap.wrap(text, width, initial_indent="  " if heading else "    ", subsequent_indent="    ",
                               break_on_hyphens=False)  # never split a model or project name
    return lines


def _overpowered(e: Entry) -> str:
    w = e["where"]
    return (f"{w['project']} has {w['model']} write short summaries; {w['cheaper_model']} would "
            f"cost {_money(e)} less ({e['rows']:,} requests).")


def _repeated(e: Entry) -> str:
    w = e["where"]
    return (f"{w['project']} sent {len(w['prompt_hashes'])} questions word for word, {e['rows']:,} times "
            f"in all; the repeats cost {_money(e)}.")


def _loop(e: Entry) -> str:
    w, d = e["where"], e["detail"]
    seconds = (dt.datetime.fromisoformat(d["ended_at"]) - dt.datetime.fromisoformat(d["started_at"])).total_seconds()
    return (f"The laptop {w['device']} called {w['model']} {e['rows']:,} times with one prompt in "
            f"{max(1, round(seconds / 60))} minutes on {w['day']}, for {_money(e)}.")


def _long_context(e: Entry) -> str:
    w = e["where"]
    return (f"{w['project']} sends prompts past the long-context threshold ({', '.join(w['models'])}): "
            f"{e['rows']:,} requests, {_money(e)}.")


def _nightly(e: Entry) -> str:
    w = e["where"]
    return (f"{w['project']} runs standard-tier work each night (00:00-05:00 local); batch would "
            f"save {_money(e)} on {e['rows']:,} requests.")


def _stale(e: Entry) -> str:
    w, nanos = e["where"], int(e["expected_nanos"] or 0)
    way = "high" if nanos >= 0 else "low"
    return (f"The laptop {w['device']} runs an old daemon that prices {w['model']} at the rates of "
            f"{w['rates_version']}: {e['rows']:,} requests logged {money(abs(nanos))} too {way}.")


def _unattributed(e: Entry) -> str:
    return (f"{e['rows']:,} requests from {len(e['where']['devices'])} laptops match no project "
            f"({_money(e)}).")


def _plain(e: Entry) -> str:
    return f"{e['what']} ({e['rows']:,} requests)."


def _billing(statements: list[Entry]) -> list[tuple[str, str]]:
    """One sentence per provider, from its latest statement (the planted variance is per provider)."""
    latest: dict[str, Entry] = {}
    for entry in statements:
        latest[entry["where"]["provider"]] = entry  # statements come oldest month first
    lines: list[tuple[str, str]] = []
    heading = None
    for provider, entry in latest.items():
        d = entry["detail"]
        billed, logged = int(d["billed_nanos"]), int(d["logged_nanos"])
        # as the reconciliation table prints it: the variance and its ratio from the two figures printed
        shown = reconciled(logged, billed)
        ratio = ratio_percent(shown.ratio) if shown.ratio is not None else Decimal(0)
        month = f"Bill {entry['where']['period'][:7]}"
        lines.append(("" if month == heading else month,
                      f"{provider} pasted {money(billed)} billed against {money(logged)} logged: variance "
                      f"{format_dollars(shown.variance)}, {ratio}%, {d['band']}."
                      if logged != billed else f"{provider} pasted what it logged, {money(billed)}."))
        heading = month
    return lines


def _money(e: Entry) -> str:
    return money(int(e["expected_nanos"] or 0))


_HEADINGS = {
    "overpowered_model": "Too big a model",
    "repeated_prompts": "Repeated prompts",
    "runaway_loop": "Runaway loop",
    "long_context": "Long prompts",
    "nightly_batchable": "Batchable nights",
    "stale_rate": "Stale prices",
    "unattributed": "Unattributed",
    "legacy_model": "Legacy model",
    "cache_write_waste": "Unread cache writes",
    "reasoning_overspend": "Reasoning overspend",
    "spend_spike": "Spend spike",
    "cacheable_prompts": "Cacheable prompts",
}
_SENTENCES: dict[str, Callable[[Entry], str]] = {
    "overpowered_model": _overpowered,
    "repeated_prompts": _repeated,
    "runaway_loop": _loop,
    "long_context": _long_context,
    "nightly_batchable": _nightly,
    "stale_rate": _stale,
    "unattributed": _unattributed,
}
