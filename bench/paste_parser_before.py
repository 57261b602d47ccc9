"""The paste parser as it was before issue 16 (quadratic on hostile pastes), kept verbatim as the
baseline of bench/bench_paste.py and the reference of the differential test of the new one. Not used by
the fleet."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import UserError
from core.money import NANOS_PER_DOLLAR, dollars_to_nanos

MAX_PASTE_CHARS = 20_000
# a plausible monthly bill is far below this; a larger number is a pasted id or a typo
MAX_AMOUNT_NANOS = 10**9 * NANOS_PER_DOLLAR

_NUMBER = r"\d[\d,.]*"
# $ 1,234.56 | US$1,234.56 | USD 1,234.56 (with an optional trailing USD) | 1,234.56 USD
_MONEY = re.compile(
    rf"(?P<pre>(?<![A-Za-z])(?:US\$|\$|USD(?![A-Za-z])))\s*(?P<sign_in>[-−–])?\s*(?P<num1>{_NUMBER})(?:\s*USD\b)?"
    rf"|(?P<num2>(?<![\w.,]){_NUMBER})\s*USD(?![A-Za-z])",
    re.IGNORECASE,
)
_WELL_FORMED = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_BARE = re.compile(r"\s*(?P<num>\d[\d,.]*)\s*")
_CURRENCY_SYMBOLS = re.compile(r"[€£¥₹₩₽₺₪฿₫₱]|\b(?:[ACHMNS]|CA|AU|NZ|HK|SG|MX|NT|R)\$")
_FOREIGN_CODES = [
    "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "CNY", "INR", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "NZD",
    "SGD", "HKD", "KRW", "BRL", "MXN", "ZAR", "TRY", "ILS", "RUB", "AED", "SAR", "THB", "TWD", "IDR", "MYR",
    "PHP", "VND", "ARS", "CLP", "COP", "PEN", "UAH", "RON", "BGN",
]
_FOREIGN_CODE = re.compile(rf"(?:\b({'|'.join(_FOREIGN_CODES)})\b\s*[-−]?\s*\d|\d\s*({'|'.join(_FOREIGN_CODES)})\b)")
_TOTAL_LABEL = re.compile(r"(?<![a-z-])(?:grand\s+)?total(?!\s*(?:tokens|requests))|amount\s+due|balance\s+due",
                          re.IGNORECASE)
_SUBTOTAL_LABEL = re.compile(r"sub[\s-]?total", re.IGNORECASE)


class StatementError(UserError):
    """A paste that cannot be used: the message says what was not understood."""


@dataclass(frozen=True)
class Amount:
    nanos: int
    negative: bool
    text: str
    line: int


@dataclass(frozen=True)
class ParsedStatement:
    nanos: int
    how: str  # 'single amount', 'total line', 'bare number'


def parse_statement(text: str | None) -> ParsedStatement:
    """The billed amount of a paste in nano-USD, or StatementError saying why it cannot be used."""
    if text is None or not text.strip():
        raise StatementError("the paste is empty: type the amount billed, like $342.04")
    if len(text) > MAX_PASTE_CHARS:
        raise StatementError(f"the paste is {len(text):,} characters long; paste the statement's total "
                             f"(at most {MAX_PASTE_CHARS:,} characters)")
    foreign = _foreign_currency(text)
    if foreign:
        raise StatementError(f"the paste is in {foreign}, not US dollars; paste the amount billed in USD")
    amounts = _amounts(text)
    if not amounts:
        return _bare_number(text)
    totals = [a for a in amounts if _is_total_line(text.splitlines()[a.line])]
    if totals:
        distinct = sorted({(a.nanos, a.negative) for a in totals})
        if len(distinct) > 1:
            shown = ", ".join(a.text.strip() for a in totals)
            raise StatementError(f"the paste has {len(totals)} totals that differ ({shown}); "
                                 "paste one statement with one total")
        return ParsedStatement(_usable(totals[0]), "total line")
    if len(amounts) > 1:
        shown = ", ".join(a.text.strip() for a in amounts[:4])
        raise StatementError(f"the paste has {len(amounts)} amounts ({shown}{', …' if len(amounts) > 4 else ''}) "
                             "and no Total line; paste the total billed, or the statement with its Total line")
    return ParsedStatement(_usable(amounts[0]), "single amount")


def _usable(amount: Amount) -> int:
    if amount.negative:
        raise StatementError(f"the amount {amount.text.strip()} is negative; a bill is what was charged, "
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


def _amounts(text: str) -> list[Amount]:
    found = []
    for number, line in enumerate(text.splitlines()):
        for match in _MONEY.finditer(line):
            _refuse_run_on(match.group(0), line[match.end():])
            digits = match.group("num1") or match.group("num2")
            nanos = _to_nanos(digits.rstrip(".,"), match.group(0))
            before = line[:match.start()].rstrip()
            after = line[match.end():].lstrip()
            signed = before.endswith(("-", "−", "–"))
            bracketed = before.endswith("(") and after.startswith(")")
            shown = f"{before[-1] if signed else ''}{match.group(0).strip()}"
            found.append(Amount(nanos, bool(match.group("sign_in")) or signed or bracketed,
                                f"({shown})" if bracketed else shown, number))
    return found


_RUN_ON = re.compile(r"[A-Za-z0-9_]+")  # '$1e9', '$12abc': the amount does not end where the number does
_SPACE_GROUPED = re.compile(r"[ \u00a0\u202f]\d{3}(?![\d,])")  # '$ 1 114.16': thousands grouped with spaces


def _refuse_run_on(shown: str, rest: str) -> None:
    """An amount must end at its last digit: a letter or a space-grouped digit group after it means the
    number was not read whole, and a partial number is the worst kind of wrong bill."""
    run_on = _RUN_ON.match(rest)
    if run_on:
        raise StatementError(f"'{shown.strip()}{run_on.group(0)}' is not written like an amount in dollars "
                             "(expected 1,234.56)")
    if _SPACE_GROUPED.match(rest):
        raise StatementError(f"'{shown.strip()} {rest.split()[0]}' groups digits with spaces; write the amount "
                             "like 1,234.56")


def _to_nanos(digits: str, shown: str) -> int:
    well = _WELL_FORMED.fullmatch(digits)
    if well is None:
        raise StatementError(f"'{shown.strip()}' is not written like an amount in dollars (expected 1,234.56)")
    try:
        nanos = dollars_to_nanos(digits.replace(",", ""))
    except ValueError:  # finer than a nano-dollar
        raise StatementError(f"'{shown.strip()}' has more decimals than a billed amount can have") from None
    if nanos > MAX_AMOUNT_NANOS:
        raise StatementError(f"'{shown.strip()}' is larger than any monthly bill; paste the amount billed")
    return nanos


def _bare_number(text: str) -> ParsedStatement:
    bare = _BARE.fullmatch(text)
    if bare is None:
        sign = text.strip()[:1]
        if sign in "-−–(" and _BARE.fullmatch(text.strip().strip("-−–()")):
            raise StatementError(f"the amount {text.strip()} is negative; a bill is what was charged")
        shown = text.strip().splitlines()[0][:60]
        raise StatementError(f"no amount in dollars was found in '{shown}'; paste something like $342.04 "
                             "or 342.04 USD")
    return ParsedStatement(_to_nanos(bare.group("num").rstrip(".,") or bare.group("num"), bare.group("num")),
                           "bare number")


def _is_total_line(line: str) -> bool:
    return bool(_TOTAL_LABEL.search(_SUBTOTAL_LABEL.sub(" ", line)))
