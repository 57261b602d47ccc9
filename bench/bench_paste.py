"""The paste parser on the worst pastes it can be handed (issue 16: any 20,000 characters in under 50 ms).

Prints, side by side in one process, for each hostile paste: the parser's time (best of 5: wall clock, and
CPU time, which waits for a core on a shared machine do not inflate), the target,
and the parser before issue 16 (bench/paste_parser_before.py, one run: it takes seconds to minutes),
with the ratio. Then a scan of every paste made by repeating one or two pieces of money text up to the
cap (a few thousand shapes), new parser only, and the slowest of them against the target.

Usage: python -m bench.bench_paste [--skip-before] [--scan-top N]   (no database)
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from types import ModuleType

from bench import paste_parser_before as before
from bench.common import verdict
from reconciliation import statement as after

TARGET_S = 0.050
CAP = after.MAX_PASTE_CHARS

# name → the paste; the first three are the issue's
WORST = {
    '"$1 " repeated': "$1 " * (CAP // 3),
    '"$" and spaces': "$" + " " * (CAP - 1),
    '"USD" and spaces': "USD" + " " * (CAP - 3),
    '"EUR" and spaces': "EUR" + " " * (CAP - 3),
    '"$1" repeated': "$1" * (CAP // 2),
    '"$12" repeated': "$12" * (CAP // 3),
    '"($1) " repeated': "($1) " * (CAP // 5),
    '"Total $1 " one line': "Total $1 " * (CAP // 9),
    '"Total $1" lines': "Total $1\n" * (CAP // 9),
    '"$" and digits': "$" + "1" * (CAP - 1),
}
PIECES = ["$", "US$", "USD", " ", "\t", "\n", "1", "12", "342.04", "1,234", ".", ",", "-", "(", ")", "Total",
          "Subtotal", "grand", "Amount due", "tokens", "EUR", "CA$", "€", "e9", "abc", "\u00a0114", "ſ", "ß"]


def run(module: ModuleType, text: str) -> Callable[[], object]:
    def parse() -> object:
        try:
            return module.parse_statement(text)
        except module.StatementError as error:
            return error
    return parse


def once(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def best(action: Callable[[], object], runs: int = 5) -> tuple[float, float]:
    """The best wall time and the best CPU time of `runs`: on a shared machine the wall time also counts
    the waits for a core, which the CPU time does not."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-before", action="store_true", help="do not time the parser before (minutes)")
    parser.add_argument("--scan-top", type=int, default=3)
    args = parser.parse_args()
    print(f"paste parser, {CAP:,}-character pastes: now (best of 5) against {TARGET_S * 1000:.0f} ms, "
          "and the parser before issue 16 (one run)")
    print(f"{'paste':<22}{'chars':>7}{'now ms':>8}{'cpu ms':>7}  {'target':<13}{'before ms':>10}{'before/now':>11}")
    worst_now = 0.0
    for name, text in WORST.items():
        now, cpu = best(run(after, text))
        worst_now = max(worst_now, now)
        then = None if args.skip_before else once(run(before, text))
        shown_then = "-" if then is None else f"{then * 1000:,.0f}"
        ratio = "-" if then is None else f"{then / now:,.0f}x"
        print(f"{name:<22}{len(text):>7,}{now * 1000:>8.1f}{cpu * 1000:>7.1f}  {verdict(now, TARGET_S):<13}"
              f"{shown_then:>10}{ratio:>11}")
    scanned = []
    for first, second in itertools.product(PIECES, repeat=2):
        for unit in {first, first + second, f"{first} {second}"}:
            text = unit * (CAP // len(unit))
            scanned.append((once(run(after, text)), unit))
    scanned.sort(reverse=True)
    print(f"scan: {len(scanned):,} pastes of one or two pieces repeated to the cap; the slowest, best of 5:")
    for _, unit in scanned[:args.scan_top]:
        text = unit * (CAP // len(unit))
        now, cpu = best(run(after, text))
        worst_now = max(worst_now, now)
        print(f"  {unit!r:<20}{len(text):>7,}{now * 1000:>8.1f}{cpu * 1000:>7.1f}  {verdict(now, TARGET_S)}")
    print(f"worst: {worst_now * 1000:.1f} ms (target < {TARGET_S * 1000:.0f} ms: {verdict(worst_now, TARGET_S)})")


if __name__ == "__main__":
    main()
