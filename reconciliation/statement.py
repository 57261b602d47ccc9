"""The manual paste: what people type into "What did the provider bill?" turned into nano-USD.

Accepted: one amount in US dollars (`$342.04`, `342.04 USD`, `USD 1,234.56`, `US$ 12`, a bare `342.04`),
or a statement block whose Total line counts (subtotal, tax and credit lines are read past). Anything
that leaves a doubt is refused with a message saying what was not understood, because a wrong bill
is worse than none: two totals that differ, another currency, a negative or empty amount, several
amounts and no total, a number that is not written like an amount.

Hand-written because no maintained library parses free-form invoice text with these refusals; the
property tests in tests/unit feed it arbitrary text.

Linear in the paste's length, whatever it holds (a paste is hostile input on a shared queue). Two rules
keep it so, and tests/unit/test_statement_linear.py checks both:
- no regular expression can backtrack into a run: every unbounded repeat is possessive (`*+`, `++`), and
  a run can only start where the same run could not have started a character earlier (a lookbehind, or
  a literal before it), so a failed attempt never rescans what another attempt scanned;
- each expression runs once per paste, once per line, or once per amount on the amount's own number,
  never on a copy of the rest of the line; what touches an amount (a sign, brackets, a run-on) is matched
  with it, in the same pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, NoReturn

from core.errors import UserError
from core.money import NANOS_PER_DOLLAR

MAX_PASTE_CHARS = 20_000
# a plausible monthly bill is far below this; a larger number is a pasted id or a typo
MAX_AMOUNT_NANOS = 10**9 * NANOS_PER_DOLLAR

_NUMBER = r"\d[\d,.]*+"
# $ 1,234.56 | US$1,234.56 | USD 1,234.56 (with an optional trailing USD) | 1,234.56 USD; with what touches it:
# a sign or an opening bracket before it (spaces apart), a closing bracket after it, and whether the
# number runs on ('$1e9', '$12abc', '$ 1 114.16': _refuse_run_on says how). All in one pass: a paste can
# hold ten thousand amounts.
_MONEY = re.compile(
    r"(?:(?P<lead>[-−–(])\s*+)?"
    rf"(?P<money>(?P<pre>(?<![A-Za-z])(?:US\$|\$|USD(?![A-Za-z])))\s*+(?P<sign_in>[-−–])?\s*+(?P<num1>{_NUMBER})"
    rf"(?:\s*+USD\b)?|(?P<num2>(?<![\w.,]){_NUMBER})\s*+USD(?![A-Za-z]))"
    r"(?P<close>(?=\s*+\)))?"
    r"(?P<run_on>(?=(?-i:[A-Za-z0-9_])|[ \u00a0\u202f]\d{3}(?![\d,])))?",
    re.IGNORECASE,
)
_WELL_FORMED = re.compile(r"(?:\d{1,3}(?:,\d{3})++|\d++)(?:\.(\d++))?")
_BARE = re.compile(r"\s*+(?P<num>\d[\d,.]*+)\s*+")
_CURRENCY_SYMBOLS = re.compile(r"[€£¥₹₩₽₺₪฿₫₱]|\b(?:[ACHMNS]|CA|AU|NZ|HK|SG|MX|NT|R)\$")
_FOREIGN_CODES = [
    "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "CNY", "INR", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "NZD",
    "SGD", "HKD", "KRW", "BRL", "MXN", "ZAR", "TRY", "ILS", "RUB", "AED", "SAR", "THB", "TWD", "IDR", "MYR",
    "PHP", "VND", "ARS", "CLP", "COP", "PEN", "UAH", "RON", "BGN",
]
_FOREIGN_CODE = re.compile(rf"(?:\b({'|'.join(_FOREIGN_CODES)})\b\s*+[-−]?\s*+\d|\d\s*+({'|'.join(_FOREIGN_CODES)})\b)")
_TOTAL_LABEL = re.compile(r"(?<![a-z-])(?:grand\s++)?total(?!\s*+(?:tokens|requests))|amount\s++due|balance\s++due",
                          re.IGNORECASE)
_SUBTOTAL_LABEL = re.compile(r"sub[\s-]?total", re.IGNORECASE)


_RUN_ON = re.compile(r"[A-Za-z0-9_]++")  # '$1e9', '$12abc': the amount does not end where the number does
_SPACES = re.compile(r"\s*+")
_NEXT_WORD = re.compile(r"\s*+(\S*+)")  # from a position: the spaces, then the word after them (a message's)
_SIGNS = ("-", "−", "–")
SHOWN_CHARS = 40  # a fragment of the paste quoted in a message is cut to this many characters
SHOWN_AMOUNTS = 4  # and a message lists this many amounts at most


class StatementError(UserError):
    """A paste that cannot be used: the message says what was not understood."""


class Amount(NamedTuple):  # a tuple, its text made only for a message: a paste can hold ten thousand
    nanos: int
    negative: bool
    line: int
    shown: str  # the amount as pasted
    lead: str | None  # the sign or bracket before it
    bracketed: bool

    @property
    def text(self) -> str:
        signed = self.lead is not None and self.lead != "("
        text = _shown(f"{self.lead}{self.shown}" if signed else self.shown)
        return f"({text})" if self.bracketed else text


@dataclass(frozen=True)
class ParsedStatement:
    nanos: int
    how: str  # 'single amount', 'total line', 'bare number'


def too_long(length: int) -> StatementError:
    """The refusal of a paste of `length` characters, over MAX_PASTE_CHARS (also for one whose text was
    left in the database for its length: store/reconciliation.py)."""
    return StatementError(f"the paste is {length:,} characters long; paste the statement's total "
                          f"(at most {MAX_PASTE_CHARS:,} characters)")


def parse_statement(text: str | None) -> ParsedStatement:
    """The billed amount of a paste in nano-USD, or StatementError saying why it cannot be used."""
    if text is None or not text.strip():
        raise StatementError("the paste is empty: type the amount billed, like $342.04")
    if len(text) > MAX_PASTE_CHARS:
        raise too_long(len(text))
    foreign = _foreign_currency(text)
    if foreign:
        raise StatementError(f"the paste is in {foreign}, not US dollars; paste the amount billed in USD")
    lines = text.splitlines()
    amounts = _amounts(lines)
    if not amounts:
        return _bare_number(text)
    total_lines = {number for number in {a.line for a in amounts} if _is_total_line(lines[number])}
    totals = [a for a in amounts if a.line in total_lines]
    if totals:
        distinct = sorted({(a.nanos, a.negative) for a in totals})
        if len(distinct) > 1:
            raise StatementError(f"the paste has {len(totals)} totals that differ ({_listed(totals)}); "
                                 "paste one statement with one total")
        return ParsedStatement(_usable(totals[0]), "total line")
    if len(amounts) > 1:
        raise StatementError(f"the paste has {len(amounts)} amounts ({_listed(amounts)}) "
                             "and no Total line; paste the total billed, or the statement with its Total line")
    return ParsedStatement(_usable(amounts[0]), "single amount")


def _listed(amounts: list[Amount]) -> str:
    return ", ".join(a.text for a in amounts[:SHOWN_AMOUNTS]) + (", …" if len(amounts) > SHOWN_AMOUNTS else "")


def _usable(amount: Amount) -> int:
    if amount.negative:
        raise StatementError(f"the amount {amount.text} is negative; a bill is what was charged, "
                             "paste it without a minus sign or parentheses")
    return amount.nanos


def _foreign_currency(text: str) -> str | None:
    symbol = _CURRENCY_SYMBOLS.search(text)
    if symbol:
        return f"another currency ('{symbol.group(0)}')"
    code = _FOREIGN_CODE.search(text.upper())
    if code:
        return f"another currency ({code.group(1) or code.group(2)})"
    return None


def _amounts(lines: list[str]) -> list[Amount]:
    found = []
    nanos_of: dict[str, int] = {}  # the same number read once
    for number, line in enumerate(lines):
        for match in _MONEY.finditer(line):
            lead, shown, sign_in, num1, num2, close, run_on = match.group(
                "lead", "money", "sign_in", "num1", "num2", "close", "run_on")
            if run_on is not None:
                _refuse_run_on(shown, line, match.end())
            digits = (num1 or num2).rstrip(".,")
            nanos = nanos_of.get(digits)
            if nanos is None:
                nanos = nanos_of[digits] = _to_nanos(digits, shown)
            bracketed = lead == "(" and close is not None
            negative = sign_in is not None or bracketed or (lead is not None and lead != "(")
            found.append(Amount(nanos, negative, number, shown, lead, bracketed))
    return found


def _refuse_run_on(shown: str, line: str, end: int) -> NoReturn:
    """An amount must end at its last digit: a letter or a space-grouped digit group after it means the
    number was not read whole, and a partial number is the worst kind of wrong bill."""
    run_on = _RUN_ON.match(line, end)
    if run_on:
        raise StatementError(f"'{_shown(shown + run_on.group(0))}' is not written like an amount in dollars "
                             "(expected 1,234.56)")
    word = _NEXT_WORD.match(line, end).group(1)  # type: ignore[union-attr]
    raise StatementError(f"'{_shown(f'{shown} {word}')}' groups digits with spaces; write the amount "
                         "like 1,234.56")


def _to_nanos(digits: str, shown: str) -> int:
    well = _WELL_FORMED.fullmatch(digits)
    if well is None:
        raise StatementError(f"'{_shown(shown)}' is not written like an amount in dollars (expected 1,234.56)")
    # core.money.dollars_to_nanos, with the size checked before int(): a 20,000-digit int costs milliseconds
    value = Decimal(digits.replace(",", "")) * NANOS_PER_DOLLAR
    if value != value.to_integral_value():
        raise StatementError(f"'{_shown(shown)}' has more decimals than a billed amount can have")
    if value > MAX_AMOUNT_NANOS:
        raise StatementError(f"'{_shown(shown)}' is larger than any monthly bill; paste the amount billed")
    return int(value)


def _shown(fragment: str) -> str:
    """A fragment of the paste as a message quotes it: cut, so a hostile paste cannot make a huge message."""
    return fragment if len(fragment) <= SHOWN_CHARS else f"{fragment[:SHOWN_CHARS - 1]}…"


def _bare_number(text: str) -> ParsedStatement:
    bare = _BARE.fullmatch(text)
    if bare is None:
        sign = text.strip()[:1]
        if sign in "-−–(" and _BARE.fullmatch(text.strip().strip("-−–()")):
            raise StatementError(f"the amount {_shown(text.strip())} is negative; a bill is what was charged")
        shown = text.strip().splitlines()[0][:60]
        raise StatementError(f"no amount in dollars was found in '{shown}'; paste something like $342.04 "
                             "or 342.04 USD")
    return ParsedStatement(_to_nanos(bare.group("num").rstrip(".,") or bare.group("num"), bare.group("num")),
                           "bare number")


def _is_total_line(line: str) -> bool:
    return bool(_TOTAL_LABEL.search(_SUBTOTAL_LABEL.sub(" ", line)))
