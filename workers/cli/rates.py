"""``halton-workers rates ...``: import, check and query the dated price table."""

from __future__ import annotations

import errno
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pricing.cost import price_one
from pricing.importer import apply, load_document, load_upstream, propose, summary_lines, write_document
from pricing.lint import check_file, errors, missing_rates
from pricing.table import DEFAULT_RATES_PATH, RatesError, load_rates

rates_app = typer.Typer(no_args_is_help=True, help="The dated price table: import, check, price.")

RatesFile = Annotated[Path, typer.Option("--rates-file", help="the rates.json to use", show_default=False)]

EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_UNPRICED = 3


class Tier(StrEnum):
    standard = "standard"
    batch = "batch"
    flex = "flex"
    priority = "priority"


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a YYYY-MM-DD date", param_hint=option) from None


def first_line(text: str) -> str:
    """The first line of a message (a traceback's or a driver's), for a one-line error."""
    return (text.strip().splitlines() or [""])[0]


def _os_words(exc: OSError) -> str:
    """'<file>: no such file' and the like, for a person rather than a programmer."""
    words = {errno.ENOENT: "no such file", errno.EACCES: "permission denied", errno.EISDIR: "is a directory",
             errno.ENOTDIR: "a part of the path is not a directory"}
    reason = words.get(exc.errno or 0, (exc.strerror or str(exc)).lower())
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@rates_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="a litellm model_prices_and_context_window.json (or subset)")],
    effective: Annotated[str | None, typer.Option(help="YYYY-MM-DD (UTC) the new version takes effect; "
                                                  "default today")] = None,
    write: Annotated[bool, typer.Option("--write", help="append the proposed version to rates.json")] = False,
    source: Annotated[str | None, typer.Option(help="where the prices come from (recorded)")] = None,
    note: Annotated[str | None, typer.Option(help="a reviewer's note (recorded)")] = None,
    prune: Annotated[bool, typer.Option("--prune", help="remove models absent upstream")] = False,
    rates_file: RatesFile = DEFAULT_RATES_PATH,
) -> None:
    """Propose a new dated version from an upstream price table; --write appends it."""
    when = _date(effective, "--effective") or datetime.now(UTC).date()
    try:
        document = load_document(rates_file)
        upstream = load_upstream(file)
        proposal = propose(document, upstream, effective=when, prune=prune,
                           source=source or f"litellm price table {file.name}", note=note)
    except OSError as exc:  # plain words, not "[Errno 2] No such file or directory: '...'"
        raise _fail(_os_words(exc)) from None
    except ValueError as exc:  # RatesError and JSONDecodeError are ValueErrors
        raise _fail(str(exc)) from None
    for line in summary_lines(proposal):
        typer.echo(line)
    if proposal.empty:
        typer.echo("nothing new upstream: no version proposed")
        return
    if write:
        try:
            write_document(rates_file, apply(document, proposal))
        except (OSError, ValueError) as exc:  # the loader refuses what it could not price exactly
            raise _fail(f"not written: {exc}") from None
        typer.echo(f"appended version {proposal.version['id']} to {rates_file}; run `rates check` and review the diff")
    else:
        typer.echo("dry run: add --write to append this version")


@rates_app.command()
def check(
    traffic: Annotated[bool, typer.Option("--traffic", help="also list the models and service tiers in "
                                                          "meter.requests that have no rate")] = False,
    database_url: Annotated[str | None, typer.Option(envvar="DATABASE_URL", help="for --traffic",
                                                     show_default=False)] = None,
    rates_file: RatesFile = DEFAULT_RATES_PATH,
) -> None:
    """Lint rates.json (and with --traffic what traffic uses); exit 1 on any problem, not on warnings."""
    found = check_file(rates_file)
    problems = [str(p) for p in errors(found)]
    warnings = [str(p) for p in found if p.warning]
    seen: list[tuple[str, str, str]] | None = None
    if traffic and not problems:
        if not database_url:
            raise _fail("--traffic needs --database-url or DATABASE_URL")
        import psycopg  # CLI start-up

        from store.pricing_reads import distinct_provider_model_tiers

        try:
            with psycopg.connect(database_url) as conn:
                seen = distinct_provider_model_tiers(conn)
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            raise _fail("meter.requests does not exist yet; run `halton-workers migrate` first") from None
        except psycopg.Error as exc:  # Postgres adds LINE and caret lines: one line is the README's promise
            raise _fail(f"cannot read meter.requests: {first_line(str(exc))}") from None
        problems += [str(g) for g in missing_rates(load_rates(rates_file), seen)]
    for line in [*problems, *warnings]:
        typer.echo(line)
    if problems:
        raise typer.Exit(EXIT_PROBLEMS)
    table = load_rates(rates_file)
    typer.echo(f"ok: {len(table.versions)} versions (latest {table.latest_version}), "
               f"{len(table.all_models())} models, {len(table.aliases)} aliases"
               + ("" if seen is None else f"; all {len(seen)} model/tier pairs seen in meter.requests have a rate"))


@rates_app.command()
def price(
    model: Annotated[str, typer.Argument(help="model id as reported; aliases and prefixes allowed")],
    input_tokens: Annotated[int, typer.Option("--input", min=0, help="input tokens at the base rate")] = 0,
    output_tokens: Annotated[int, typer.Option("--output", min=0, help="output tokens incl. reasoning")] = 0,
    cache_read: Annotated[int, typer.Option(min=0)] = 0,
    cache_write: Annotated[int, typer.Option(min=0, help="5-minute cache writes")] = 0,
    cache_write_1h: Annotated[int, typer.Option("--cache-write-1h", min=0)] = 0,
    tier: Annotated[Tier, typer.Option(help="service tier")] = Tier.standard,
    at: Annotated[str | None, typer.Option(help="price at the rates of this date (YYYY-MM-DD)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    rates_file: RatesFile = DEFAULT_RATES_PATH,
) -> None:
    """Price one request; exit 3 when it cannot be priced."""
    when = _date(at, "--at")
    try:
        table = load_rates(None if rates_file == DEFAULT_RATES_PATH else rates_file)
    except (OSError, RatesError) as exc:
        raise _fail(str(exc)) from None
    if when is not None and not table.covers(when):
        # Traffic older than the table is priced at the first version (its earliest known rates);
        # a person asking for a date before it is told so rather than shown those rates as that day's.
        first = table.versions[0]
        raise _fail(f"no rates on file for {when}: the first version, {first.id}, takes effect on "
                    f"{first.effective}", EXIT_UNPRICED)
    try:
        result = price_one(table, model, input=input_tokens, output=output_tokens, cache_read=cache_read,
                           cache_write=cache_write, cache_write_1h=cache_write_1h, tier=tier.value, at=when)
    except OverflowError:  # a count so large that its cost could overflow int64 nanos
        raise _fail(f"token counts above {table.max_tokens_per_kind} per kind cannot be priced exactly") from None
    usd = None if result.cost_nanos is None else f"{Decimal(result.cost_nanos) / 10**9:.9f}"
    if as_json:
        typer.echo(json.dumps({
            "model": result.model,
            "requested_model": model,
            "rates_version": result.rates_version,
            "tier": tier.value,
            "at": None if when is None else when.isoformat(),
            "cost_nanos": result.cost_nanos,
            "cost_usd": usd,
            "priced": result.priced,
            "reason": result.reason,
        }))
    elif result.priced:
        typer.echo(f"model          {result.model}" + ("" if result.model == model else f" (given {model})"))
        typer.echo(f"rates version  {result.rates_version}")
        typer.echo(f"cost           {result.cost_nanos} nanos = ${usd}")
    else:
        typer.echo(f"unpriced: {result.reason}", err=True)
    if not result.priced:
        raise typer.Exit(EXIT_UNPRICED)
