"""The paste parser is linear in the paste's length, and reads what the parser before it read.

No wall time here (bench/bench_paste.py measures the worst pastes): the work is counted instead.
- Each regular expression is linear by construction: no unbounded repeat that can be backtracked into.
- Each character is handed to the regular expressions a bounded number of times: every call is charged
  the characters it can look at (a search, the rest of the string; an anchored match, what it matched),
  for hostile pastes of every shape hypothesis can repeat up to the 20,000-character cap.
Both checks fail on the parser as it was (bench/paste_parser_before.py), which took 13 to 40 s on such
pastes; a differential fuzz shows the new one gives the same answer, or the same refusal in the same words,
on anything else (it quotes a long fragment cut short, and at most four amounts).
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bench import paste_parser_before as before
from reconciliation import statement as after
from reconciliation.statement import MAX_PASTE_CHARS, SHOWN_CHARS

BOUNDED = 3  # a repeat of at most this many characters may backtrack: a constant factor
REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
PIECES = ["$", "US$", "USD", "usd", " ", "   ", "\t", "\n", "\r\n", "1", "12", "342.04", "1,234", "1,23", ".", ",",
          "-", "−", "–", "(", ")", "Total", "total", "Subtotal", "sub-total", "grand", "Amount due", "tokens",
          "EUR", "eur", "CA$", "€", "e9", "abc", "_", "\u00a0114", " 114", "0.0000000001", "9" * 12, "ſ", "ß"]


def patterns(module: ModuleType) -> dict[str, re.Pattern[str]]:
    return {name: value for name, value in vars(module).items() if isinstance(value, re.Pattern)}


def unbounded_backtracking(tree: Any, inside_run: bool = False) -> Iterator[str]:
    """Repeats in a parsed pattern that make it super-linear: an unbounded repeat that is not possessive,
    or any unbounded repeat inside another one."""
    for op, arg in tree:
        if op in REPEATS:
            low, high, body = arg
            unbounded = high == sre.MAXREPEAT or high > BOUNDED
            if unbounded and (op != sre.POSSESSIVE_REPEAT or inside_run):
                yield f"{op} {low}..{'' if high == sre.MAXREPEAT else high}"
            yield from unbounded_backtracking(body, inside_run or unbounded)
        elif op == sre.BRANCH:
            for branch in arg[1]:
                yield from unbounded_backtracking(branch, inside_run)
        elif op == sre.SUBPATTERN:
            yield from unbounded_backtracking(arg[3], inside_run)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            yield from unbounded_backtracking(arg[1], inside_run)
        elif op == sre.ATOMIC_GROUP:
            yield from unbounded_backtracking(arg, inside_run)


def backtracking_patterns(module: ModuleType) -> dict[str, list[str]]:
    found = {name: list(unbounded_backtracking(sre_parse.parse(p.pattern, p.flags)))
             for name, p in patterns(module).items()}
    return {name: repeats for name, repeats in found.items() if repeats}


def test_no_regular_expression_of_the_parser_can_backtrack_into_a_run() -> None:
    assert len(patterns(after)) >= 8
    assert backtracking_patterns(after) == {}


def test_the_check_finds_the_backtracking_of_the_parser_before() -> None:
    assert {"_MONEY", "_FOREIGN_CODE", "_BARE", "_TOTAL_LABEL"} <= set(backtracking_patterns(before))


class Counted:
    """A compiled pattern that charges every call the characters it may look at."""

    def __init__(self, pattern: re.Pattern[str], tally: list[int]) -> None:
        self.pattern, self.tally = pattern, tally

    def _charge(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> None:
        self.tally[0] += max(0, min(endpos, len(string)) - pos) + 1

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        self._charge(string, pos, endpos)
        return self.pattern.search(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        self._charge(string, pos, endpos)
        return self.pattern.finditer(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        self._charge(string, pos, endpos)
        return self.pattern.fullmatch(string, pos, endpos)

    def sub(self, repl: str, string: str, count: int = 0) -> str:
        self._charge(string)
        return self.pattern.sub(repl, string, count)

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        """Anchored, and linear by construction: what it matched, or all it could have looked at."""
        found = self.pattern.match(string, pos, endpos)
        if found is None:
            self._charge(string, pos, endpos)
        else:
            self.tally[0] += found.end() - pos + 1
        return found


def regex_work(module: ModuleType, text: str) -> int:
    tally = [0]
    with pytest.MonkeyPatch.context() as patch:
        for name, pattern in patterns(module).items():
            patch.setattr(module, name, Counted(pattern, tally))
        with contextlib.suppress(module.StatementError):
            module.parse_statement(text)
    return tally[0]


def bound(text: str) -> int:
    return 16 * len(text) + 64


HOSTILE = {
    "$1 repeated": "$1 ",
    "$ then spaces": None,
    "total lines": "Total $1\n",
    "bracketed": "($1) ",
    "signed": "-$1 ",
    "trailing USD": "1 USD ",
    "grand": "grand ",
    "a total line of amounts": "Total $1 ",
}


def hostile(unit: str | None, length: int) -> str:
    return "$" + " " * (length - 1) if unit is None else unit * (length // len(unit))


@pytest.mark.parametrize("name", HOSTILE)
def test_the_worst_known_pastes_hand_each_character_to_the_regexes_a_bounded_number_of_times(
        name: str) -> None:
    text = hostile(HOSTILE[name], MAX_PASTE_CHARS)
    assert regex_work(after, text) <= bound(text)


@pytest.mark.parametrize("name", ["$1 repeated", "bracketed", "a total line of amounts"])
def test_the_count_finds_the_quadratic_work_of_the_parser_before(name: str) -> None:
    text = hostile(HOSTILE[name], 2_000)  # the parser before takes seconds at the full 20,000
    assert regex_work(before, text) > 10 * bound(text)


@settings(max_examples=100, deadline=None)
@given(unit=st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join))
@example(unit="$1")  # the densest amounts: 10,000 of them
@example(unit="1$")
@example(unit="(")
@example(unit="_ sub-total")
def test_any_paste_repeated_to_the_cap_costs_linear_regex_work(unit: str) -> None:
    text = unit * (MAX_PASTE_CHARS // len(unit))
    assert regex_work(after, text) <= bound(text)


def answer(module: ModuleType, text: str) -> tuple[str, object]:
    try:
        parsed = module.parse_statement(text)
    except module.StatementError as error:
        return "refused", str(error)
    return "read", (parsed.nanos, parsed.how)


pastes = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
    st.text(alphabet=st.sampled_from(list("$USDusd€0123456789.,-−–() \n\tTotalsubgrandEURCA\u00a0ſ")), max_size=60),
    st.text(max_size=60),
)


@settings(max_examples=600, deadline=None)
@given(pastes)
@example("Total $1\nTotal $2\nTotal $3\nTotal $4\nTotal $5")
@example("$" + " " * 50 + "1a")
def test_it_answers_as_the_parser_before_did(text: str) -> None:
    """The same amount, or a refusal in the same words once the quoting's cuts are lifted."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(after, "SHOWN_CHARS", sys.maxsize)
        patch.setattr(after, "SHOWN_AMOUNTS", sys.maxsize)
        assert answer(after, text) == answer(before, text)


@pytest.mark.parametrize(("text", "says"), [
    ("Total $1\nTotal $2\nTotal $3\nTotal $4\nTotal $5", "5 totals that differ ($1, $2, $3, $4, …)"),
    ("$" + " " * 50 + "1abc", f"'${' ' * (SHOWN_CHARS - 2)}…' is not written like an amount"),
    ("$1 " * 6666, "6666 amounts ($1, $1, $1, $1, …)"),
])
def test_a_message_quotes_a_hostile_paste_in_a_few_words(text: str, says: str) -> None:
    with pytest.raises(after.StatementError) as refused:
        after.parse_statement(text)
    assert says in str(refused.value) and len(str(refused.value)) < 200
