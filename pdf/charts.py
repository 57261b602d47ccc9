"""Vector charts as small SVG documents, written directly: bars, a line, grid lines, axes and text.

Why not a plotting library: WeasyPrint draws an SVG node by node in Python, and the charts are a few
rectangles, lines and labels. matplotlib built the project report's four figures in about 0.14 s (Tick
objects, text layout) and wrapped every mark in groups, clip paths and styles that WeasyPrint then took
another 0.05 s to walk; here each series is one <path>, the grid one <path>, and a label one <text>.

Deterministic: no ids but the chart's own and coordinates printed to two decimals, so the same data
gives the same bytes. Labels are user-controlled: XML-escaped text, never markup and never mathtext.
Money arrives as integer nanos and becomes float dollars only here, for drawing. Sizes are in points
(the SVG's user unit); text is DejaVu Sans, the page's font, so no other face is embedded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from core.money import NANOS_PER_DOLLAR
from pdf import palette

WIDTH_IN = 7.0  # the content width of an A4 page with its margins
PT = 72.0  # points per inch
FONT = 8.0  # label size in points
PAD = 3.5  # between an axis (or the end of a tick mark) and its labels
TICK = 3.5  # length of the x axis' tick marks
SPINE_WIDTH = 0.8
GRID_WIDTH = 0.6
LINE_HEIGHT = 1.2  # of a two-line tick label, in ems
BASELINE_DOWN = 0.76  # a label hanging below a point: baseline this many ems below it (DejaVu's cap height + a bit)
BASELINE_CENTRE = 0.36  # a label centred on a point: baseline this many ems below it (half the cap height)

# DejaVu Sans advance widths of ' ' … '~' in font units (2048 per em), read from the font with fontTools.
# WeasyPrint lays SVG text out one character at a time, without kerning, so the sum of the advances is the
# drawn width; labels are placed and margins sized from it.
_ASCII_ADVANCES = (
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577, 1294, 1178,
    1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251,
    1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995,
    1298, 1253, 1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716,
)
_OTHER_ADVANCE = 2048  # anything else counts as a whole em (wider than DejaVu's Latin letters): room to spare
_UNITS_PER_EM = 2048
# Characters XML 1.0 does not allow (a label is user data): dropped rather than making the SVG unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Bar:
    label: str
    value_nanos: int
    colour: str


@dataclass(frozen=True)
class StackedBucket:
    label: str
    by_provider: dict[str, int]  # nanos


def _dollars(nanos: int) -> float:
    return nanos / NANOS_PER_DOLLAR


def _money_axis(ticks: Sequence[float]) -> Callable[[float], str]:
    """One format for every label of an axis: cents only when a tick is not a whole dollar ($0, $5, $10 rather
    than $0, $5.00, $10; $0.00, $0.25, $0.50)."""
    cents = any(abs(t) < 10_000 and t != int(t) for t in ticks)

    def label(value: float) -> str:
        if abs(value) >= 10_000:
            return f"${value / 1000:,.0f}k"
        return f"${value:,.2f}" if cents else f"${value:,.0f}"

    return label


def _count_axis(value: float) -> str:
    return f"{value:,.0f}"


def _text_width(text: str, size: float = FONT) -> float:
    """Width in points of `text` as WeasyPrint draws it in DejaVu Sans at `size`."""
    units = sum(_ASCII_ADVANCES[ord(c) - 32] if 32 <= ord(c) < 127 else _OTHER_ADVANCE for c in text)
    return units * size / _UNITS_PER_EM


def _exactly_measured(text: str) -> bool:
    return all(32 <= ord(c) < 127 for c in text)


def _clean(label: str) -> str:
    """One line of plain text: XML-invalid characters dropped, runs of white space made one space."""
    return " ".join(_NOT_XML.sub("", label).split())


def _n(value: float) -> str:
    """A coordinate, two decimals at most: short SVG and the same bytes for the same data."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def nice_ticks(low: float, high: float, most: int) -> list[float]:
    """Round values from `low` to `high` (inclusive), at most `most` intervals, on steps of 1, 2, 2.5 or 5
    times a power of ten, as an axis would print them."""
    if high <= low:
        high = low + 1
    magnitude = 10 ** math.floor(math.log10((high - low) / most))
    step = next(f * magnitude for f in (1, 2, 2.5, 5, 10) if (high - low) / (f * magnitude) <= most + 1e-9)
    first = math.ceil(low / step - 1e-9)
    return [i * step for i in range(first, math.floor(high / step + 1e-9) + 1)]


def _tick_room(length: float, vertical: bool) -> int:
    """How many intervals an axis of `length` points has room for: a label's height twice over on a vertical
    axis, three times its size along a horizontal one (matplotlib's rule, which these charts used to follow),
    at most 9."""
    return min(9, max(1, math.floor(length / ((2 if vertical else 3) * FONT))))


def _thin_ticks(labels: Sequence[str], most: int) -> tuple[list[int], list[str]]:
    """Every n-th position and its label, at most `most` of them: a label per bar would overlap."""
    step = max(1, -(-len(labels) // most))
    positions = list(range(0, len(labels), step))
    return positions, [labels[i] for i in positions]


def _span(values: Sequence[float]) -> tuple[float, float]:
    """The axis' data range: from 0 (bars stand on the axis) to 5 % beyond the largest value."""
    low, high = min([0.0, *values]), max([0.0, *values])
    if high == low:
        return 0.0, 1.0
    return (low * 1.05 if low < 0 else 0.0), (high * 1.05 if high > 0 else 0.0)


@dataclass(frozen=True)
class _Frame:
    """The plot area in SVG points (y grows downwards) and the data ranges it shows."""

    left: float
    top: float
    right: float
    bottom: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def x(self, value: float) -> float:
        low, high = self.x_range
        return self.left + (value - low) / (high - low) * (self.right - self.left)

    def y(self, value: float) -> float:
        low, high = self.y_range
        return self.bottom - (value - low) / (high - low) * (self.bottom - self.top)


def _frame(height: float, left_in: float, bottom_in: float, top_in: float, right_in: float,
           x_range: tuple[float, float], y_range: tuple[float, float]) -> _Frame:
    """Fixed margins in inches around the plot area."""
    return _Frame(left_in * PT, top_in * PT, (WIDTH_IN - right_in) * PT, height - bottom_in * PT, x_range, y_range)


@dataclass
class _Svg:
    """An SVG document being written, in drawing order (later elements on top)."""

    chart_id: str
    height: float
    parts: list[str] = field(default_factory=list)

    def path(self, d: str, fill: str = "none", stroke: str | None = None, width: float = 0,
             rounded: bool = False) -> None:
        if not d:
            return
        stroke_attrs = f' stroke="{stroke}" stroke-width="{_n(width)}"' if stroke else ""
        if rounded:
            stroke_attrs += ' stroke-linejoin="round" stroke-linecap="round"'
        self.parts.append(f'<path d="{d}" fill="{fill}"{stroke_attrs}/>')

    def text(self, x: float, y: float, label: str, anchor: str = "start", colour: str = palette.TEXT,
             rotate: bool = False) -> None:
        content = _clean(label)
        if not content:
            return
        anchor_attr = ""
        if anchor != "start" and _exactly_measured(content):
            # placed from its own width: WeasyPrint draws an anchored text into a group (a PDF form) of its own
            # to measure it first, about 0.2 ms a label
            shift = _text_width(content) / (2 if anchor == "middle" else 1)
            x, y = (x, y + shift) if rotate else (x - shift, y)
        elif anchor != "start":
            anchor_attr = f' text-anchor="{anchor}"'  # a width only WeasyPrint knows: let it anchor the text
        turn = f' transform="rotate(-90 {_n(x)} {_n(y)})"' if rotate else ""
        self.parts.append(f'<text x="{_n(x)}" y="{_n(y)}"{anchor_attr}{turn} fill="{colour}">{escape(content)}</text>')

    def document(self) -> str:
        width = WIDTH_IN * PT
        return (f'<svg xmlns="http://www.w3.org/2000/svg" id={quoteattr(self.chart_id)} width="{_n(width)}pt" '
                f'height="{_n(self.height)}pt" viewBox="0 0 {_n(width)} {_n(self.height)}" '
                f'font-family="DejaVu Sans" font-size="{_n(FONT)}">' + "".join(self.parts) + "</svg>")


def _rectangles(frame: _Frame, rects: Sequence[tuple[float, float, float, float]], horizontal: bool) -> str:
    """Path data of bars given as (position, thickness, base, value) in data units: one compound path per
    series, so WeasyPrint draws one element instead of one per bar."""
    out = []
    for at, thickness, base, value in rects:
        if value == 0:
            continue
        lo, hi = at - thickness / 2, at + thickness / 2
        if horizontal:
            x0, x1, y0, y1 = frame.x(base), frame.x(base + value), frame.y(hi), frame.y(lo)
        else:
            x0, x1, y0, y1 = frame.x(lo), frame.x(hi), frame.y(base + value), frame.y(base)
        out.append(f"M{_n(x0)} {_n(y0)}H{_n(x1)}V{_n(y1)}H{_n(x0)}Z")
    return "".join(out)


def _grid(svg: _Svg, frame: _Frame, ticks: Sequence[float], vertical: bool) -> None:
    """Light lines at the tick values (not at 0, where the axis is), behind the marks."""
    if vertical:
        d = "".join(f"M{_n(frame.x(t))} {_n(frame.top)}V{_n(frame.bottom)}" for t in ticks if t != 0)
    else:
        d = "".join(f"M{_n(frame.left)} {_n(frame.y(t))}H{_n(frame.right)}" for t in ticks if t != 0)
    svg.path(d, stroke=palette.GRID, width=GRID_WIDTH)


def _spines(svg: _Svg, frame: _Frame, right: bool = False) -> None:
    """The left and bottom axis lines (and the right one for a second value axis)."""
    d = f"M{_n(frame.left)} {_n(frame.top)}V{_n(frame.bottom)}H{_n(frame.right)}"
    if right:
        d += f"V{_n(frame.top)}"
    svg.path(d, stroke=palette.TEXT, width=SPINE_WIDTH)


def _value_labels(svg: _Svg, frame: _Frame, ticks: Sequence[float], fmt: Callable[[float], str],
                  side: str = "left", colour: str = palette.TEXT) -> float:
    """Labels of a vertical value axis beside it, centred on their values; returns the widest one's width."""
    x, anchor = (frame.left - PAD, "end") if side == "left" else (frame.right + PAD, "start")
    widest = 0.0
    for tick in ticks:
        label = fmt(tick)
        svg.text(x, frame.y(tick) + BASELINE_CENTRE * FONT, label, anchor, colour)
        widest = max(widest, _text_width(label))
    return widest


def _category_axis(svg: _Svg, frame: _Frame, labels: Sequence[str], most: int) -> None:
    """Tick marks and labels under the bars, at most `most` of them; a label may have two lines."""
    positions, shown = _thin_ticks(labels, most)
    svg.path("".join(f"M{_n(frame.x(p))} {_n(frame.bottom)}v{_n(TICK)}" for p in positions),
             stroke=palette.TEXT, width=SPINE_WIDTH)
    for position, label in zip(positions, shown, strict=True):
        for line_number, line in enumerate(label.split("\n")):
            y = frame.bottom + TICK + PAD + (BASELINE_DOWN + line_number * LINE_HEIGHT) * FONT
            svg.text(frame.x(position), y, line, "middle")


def _legend(svg: _Svg, x: float, centre_y: float, entries: Sequence[tuple[str, str]]) -> None:
    """(label, colour) side by side: a swatch, then its label."""
    swatch_w, swatch_h, gap, spacing = 2.0 * FONT, 0.7 * FONT, 0.8 * FONT, 2.0 * FONT
    for label, colour in entries:
        top = centre_y - swatch_h / 2
        svg.path(f"M{_n(x)} {_n(top)}h{_n(swatch_w)}v{_n(swatch_h)}h{_n(-swatch_w)}Z", fill=colour)
        svg.text(x + swatch_w + gap, centre_y + BASELINE_CENTRE * FONT, label)
        x += swatch_w + gap + _text_width(_clean(label)) + spacing


def stacked_over_time(buckets: Sequence[StackedBucket], chart_id: str, height_in: float = 2.6) -> str:
    """Spend per bucket, stacked by provider, in provider colours."""
    providers = sorted({p for b in buckets for p in b.by_provider})
    series = [(p, [_dollars(b.by_provider.get(p, 0)) for b in buckets]) for p in providers]
    totals = [sum(values) for values in zip(*(v for _, v in series), strict=True)] if series else []
    height = height_in * PT
    frame = _frame(height, 0.75, 0.5, 0.35, 0.15, (-0.6, max(len(buckets), 1) - 0.4), _span(totals))
    ticks = nice_ticks(*frame.y_range, most=_tick_room(frame.bottom - frame.top, vertical=True))
    svg = _Svg(chart_id, height)
    _grid(svg, frame, ticks, vertical=False)
    bottoms = [0.0] * len(buckets)
    for provider, values in series:
        rects = [(i, 0.8, base, v) for i, (base, v) in enumerate(zip(bottoms, values, strict=True))]
        svg.path(_rectangles(frame, rects, horizontal=False), fill=palette.provider_colour(provider))
        bottoms = [a + b for a, b in zip(bottoms, values, strict=True)]
    _spines(svg, frame)
    _value_labels(svg, frame, ticks, _money_axis(ticks))
    _category_axis(svg, frame, [b.label for b in buckets], 12)
    _legend(svg, frame.left + 0.5 * FONT, frame.top / 2, [(p, palette.provider_colour(p)) for p in providers])
    return svg.document()


def horizontal_bars(bars: Sequence[Bar], chart_id: str) -> str:
    """Largest on top; labels are already shortened by the caller."""
    ordered = list(reversed(bars))
    count = max(len(ordered), 1)
    height = (0.6 + 0.24 * count) * PT
    labels = [_clean(b.label) for b in ordered]
    # room for the longest label as WeasyPrint draws it, its gap to the axis, and a margin
    left_in = (max((_text_width(label) for label in labels), default=0.0) + PAD) / PT + 0.15
    values = [_dollars(b.value_nanos) for b in ordered]
    frame = _frame(height, left_in, 0.35, 0.1, 0.15, _span(values), (-0.6, count - 0.4))
    ticks = nice_ticks(*frame.x_range, most=_tick_room(frame.right - frame.left, vertical=False))
    svg = _Svg(chart_id, height)
    _grid(svg, frame, ticks, vertical=True)
    for colour in dict.fromkeys(b.colour for b in ordered):  # one path per colour, first-seen order
        rects = [(i, 0.7, 0.0, v) for i, (b, v) in enumerate(zip(ordered, values, strict=True)) if b.colour == colour]
        svg.path(_rectangles(frame, rects, horizontal=True), fill=colour)
    _spines(svg, frame)
    for position, label in enumerate(labels):
        svg.text(frame.left - PAD, frame.y(position) + BASELINE_CENTRE * FONT, label, "end")
    money_label = _money_axis(ticks)
    for tick in ticks:
        svg.text(frame.x(tick), frame.bottom + PAD + BASELINE_DOWN * FONT, money_label(tick), "middle")
    return svg.document()


def _dots(frame: _Frame, points: Sequence[tuple[float, float]], radius: float) -> str:
    """Filled circles at the points, as one path of two half-circle arcs each."""
    out = []
    for x, y in points:
        cx, cy = frame.x(x), frame.y(y)
        out.append(f"M{_n(cx - radius)} {_n(cy)}a{_n(radius)} {_n(radius)} 0 1 0 {_n(2 * radius)} 0"
                   f"a{_n(radius)} {_n(radius)} 0 1 0 {_n(-2 * radius)} 0Z")
    return "".join(out)


def volume_with_cost(labels: Sequence[str], requests: Sequence[int], cost_nanos: Sequence[int],
                     chart_id: str) -> str:
    """Request volume as bars with the cost line over them, on a second axis at the right."""
    height = 2.4 * PT
    x_range = (-0.6, max(len(labels), 1) - 0.4)
    counts = [float(r) for r in requests]
    spend = [_dollars(c) for c in cost_nanos]
    frame = _frame(height, 0.85, 0.5, 0.1, 0.75, x_range, _span(counts))
    cost_frame = _frame(height, 0.85, 0.5, 0.1, 0.75, x_range, _span(spend))
    room = _tick_room(frame.bottom - frame.top, vertical=True)
    ticks, cost_ticks = nice_ticks(*frame.y_range, most=room), nice_ticks(*cost_frame.y_range, most=room)
    svg = _Svg(chart_id, height)
    _grid(svg, frame, ticks, vertical=False)
    svg.path(_rectangles(frame, [(i, 0.8, 0.0, c) for i, c in enumerate(counts)], horizontal=False),
             fill=palette.VOLUME)
    line = "".join(f"{'L' if i else 'M'}{_n(cost_frame.x(i))} {_n(cost_frame.y(s))}" for i, s in enumerate(spend))
    svg.path(line, stroke=palette.ACCENT, width=1.6, rounded=True)
    if len(labels) <= 31:  # a dot per day or week; beyond a month they would merge into the line
        svg.path(_dots(cost_frame, list(enumerate(spend)), 1.75), fill=palette.ACCENT)
    _spines(svg, frame, right=True)
    widest = _value_labels(svg, frame, ticks, _count_axis)
    _value_labels(svg, cost_frame, cost_ticks, _money_axis(cost_ticks), side="right", colour=palette.ACCENT)
    # the axis title, turned to read upwards, clear of the widest value label
    svg.text(frame.left - PAD - widest - 0.5 * FONT - 2, (frame.top + frame.bottom) / 2, "requests", "middle",
             rotate=True)
    _category_axis(svg, frame, labels, 12)
    return svg.document()
