"""The tables of a rendered report's HTML as a reader sees them: per section, rows of cell texts, and which
row is the total row. Read with the standard library's HTML parser, independent of the templates' code."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser


@dataclass
class Table:
    section: str  # the id of the <section> holding it
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    total: list[str] | None = None  # the row of class "total", if any

    def column(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def total_of(self, name: str) -> str:
        assert self.total is not None, f"the table of {self.section} has no total row"
        return self.total[self.header.index(name)]


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Table] = []
        self.section = ""
        self.row: list[str] | None = None
        self.row_is_total = False
        self.cell: list[str] | None = None
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.section = values.get("id") or ""
        elif tag == "table":
            self.tables.append(Table(self.section))
        elif tag == "thead":
            self.in_head = True
        elif tag == "tr":
            self.row, self.row_is_total = [], "total" in (values.get("class") or "").split()
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            table = self.tables[-1]
            if self.in_head:
                table.header = self.row
            elif self.row_is_total:
                table.total = self.row
            else:
                table.rows.append(self.row)
            self.row = None
        elif tag == "thead":
            self.in_head = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def tables(html: str) -> dict[str, Table]:
    parser = _Tables()
    parser.feed(html)
    found = {table.section: table for table in parser.tables}
    assert len(found) == len(parser.tables), "one table per section"
    return found


def dollars(text: str) -> Decimal:
    """'$1,234.56' / '-$0.42' (with anything after the figure, e.g. '/month') → Decimal."""
    match = re.match(r"(-?)\$([\d,]+\.\d\d)", text)
    assert match, f"{text!r} is not an amount"
    return Decimal(match[2].replace(",", "")) * (-1 if match[1] else 1)


def percent(text: str) -> Decimal:
    match = re.fullmatch(r"([\d.]+) %", text)
    assert match, f"{text!r} is not a percentage"
    return Decimal(match[1])


def count(text: str) -> int:
    return int(text.replace(",", ""))
