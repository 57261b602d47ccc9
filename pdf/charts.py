"""Vector charts as SVG text (matplotlib's SVG backend, no pyplot: no global figure state, safe in a
worker). Deterministic: a fixed hash salt and root id per chart and no date in the metadata, so the same
data gives the same bytes. Labels are escaped as XML text by matplotlib and never parsed as mathtext.
Money arrives as integer nanos and becomes float dollars only here, for drawing."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import offset_copy

from core.money import NANOS_PER_DOLLAR
from pdf import palette

P = ParamSpec("P")
WIDTH_IN = 7.0  # the content width of an A4 page with its margins


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


def _money_axis(value: float, _pos: object) -> str:
    if abs(value) >= 10_000:
        return f"${value / 1000:,.0f}k"
    return f"${value:,.0f}" if abs(value) >= 10 or value == 0 else f"${value:,.2f}"


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color=palette.GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(colors=palette.TEXT, labelsize=8)
    ax.tick_params(axis="y", length=0)  # the grid lines mark the values; a tick mark each is one more SVG node


# Labels are user-controlled: never parse them as mathtext ('$…$' would be typeset, a bad one raise).
# Text stays text in the SVG (fewer nodes for WeasyPrint to draw than glyph paths), in the page's font.
_RC: dict[Any, Any] = {"text.parse_math": False, "svg.fonttype": "none", "font.family": "DejaVu Sans"}


def _charted(build: Callable[P, str]) -> Callable[P, str]:
    @functools.wraps(build)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> str:
        with matplotlib.rc_context(_RC):
            return build(*args, **kwargs)

    return wrapped


def _svg(fig: Figure, chart_id: str) -> str:
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": f"halton-{chart_id}", "svg.id": chart_id}):
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None, "Creator": None})  # type: ignore[no-untyped-call]
    return buffer.getvalue().decode()


def _margins(fig: Figure, left_in: float, bottom_in: float, top_in: float, right_in: float = 0.15) -> None:
    """Fixed margins in inches: tight_layout would draw each figure once more just to measure it."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left_in / width, right=1 - right_in / width, bottom=bottom_in / height,
                        top=1 - top_in / height)


def _thin_ticks(labels: Sequence[str], most: int) -> tuple[list[int], list[str]]:
    """Every n-th position and its label, at most `most` of them: a tick per bar would cost matplotlib a
    Tick object (two lines, two texts) each, most of the chart's time, for labels that would overlap."""
    step = max(1, -(-len(labels) // most))
    positions = list(range(0, len(labels), step))
    return positions, [labels[i] for i in positions]


def _bar_series(ax: Axes, positions: Sequence[float], values: Sequence[float], bottoms: Sequence[float],
                colour: str, thickness: float, horizontal: bool = False) -> None:
    """Bars of one colour as ONE compound path (a closed rectangle per bar): `ax.bar` makes a Rectangle
    artist per bar, each its own SVG <path> with its own style and clip, which WeasyPrint then draws one by
    one in Python. Same geometry, one element per series; the axes' limits follow it (update_datalim)."""
    vertices: list[tuple[float, float]] = []
    for at, value, base in zip(positions, values, bottoms, strict=True):
        if value == 0:
            continue
        lo, hi = at - thickness / 2, at + thickness / 2
        corners = [(lo, base), (hi, base), (hi, base + value), (lo, base + value), (lo, base)]
        vertices += [(y, x) for x, y in corners] if horizontal else corners
    if not vertices:
        return
    codes = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY] * (len(vertices) // 5)
    ax.add_patch(PathPatch(Path(vertices, codes), facecolor=colour, edgecolor="none", linewidth=0))
    ax.update_datalim(vertices)
    ax.autoscale_view()


@_charted
def stacked_over_time(buckets: Sequence[StackedBucket], chart_id: str, height_in: float = 2.6) -> str:
    """Spend per bucket, stacked by provider, in provider colours."""
    fig = Figure(figsize=(WIDTH_IN, height_in))
    ax = fig.add_subplot()
    providers = sorted({p for b in buckets for p in b.by_provider})
    bottoms = [0.0] * len(buckets)
    positions = list(range(len(buckets)))
    for provider in providers:
        values = [_dollars(b.by_provider.get(provider, 0)) for b in buckets]
        _bar_series(ax, positions, values, bottoms, palette.provider_colour(provider), 0.8)
        bottoms = [a + b for a, b in zip(bottoms, values, strict=True)]
    ax.set_ylim(bottom=0)  # as ax.bar's sticky edge did: the bars stand on the axis
    ax.set_xticks(*_thin_ticks([b.label for b in buckets], 12))
    ax.yaxis.set_major_formatter(FuncFormatter(_money_axis))
    ax.set_xlim(-0.6, max(len(buckets), 1) - 0.4)
    _style(ax)
    if providers:
        ax.legend(handles=[Patch(color=palette.provider_colour(p), label=p) for p in providers],
                  frameon=False, fontsize=8, ncols=len(providers), loc="upper left", bbox_to_anchor=(0, 1.15))
    _margins(fig, left_in=0.75, bottom_in=0.5, top_in=0.35)
    return _svg(fig, chart_id)


@_charted
def horizontal_bars(bars: Sequence[Bar], chart_id: str) -> str:
    """Largest on top; labels are already shortened by the caller."""
    fig = Figure(figsize=(WIDTH_IN, 0.6 + 0.24 * max(len(bars), 1)))
    ax = fig.add_subplot()
    ordered = list(reversed(bars))
    positions = list(range(len(ordered)))
    for colour in dict.fromkeys(b.colour for b in ordered):  # one path per colour, first-seen order
        mine = [(i, _dollars(b.value_nanos)) for i, b in enumerate(ordered) if b.colour == colour]
        _bar_series(ax, [i for i, _ in mine], [v for _, v in mine], [0.0] * len(mine), colour, 0.7, horizontal=True)
    ax.set_xlim(left=0)
    ax.set_ylim(-0.5 - 0.1, len(ordered) - 0.5 + 0.1)
    # The bar labels as plain texts where tick labels would stand (3.5 pt left of the axis, as a tick's
    # pad): a Tick per bar costs matplotlib two lines, two texts and a grid line each, most of the chart's time.
    ax.set_yticks([])
    beside_axis = offset_copy(ax.get_yaxis_transform(), fig=fig, x=-3.5, units="points")
    for at, bar in zip(positions, ordered, strict=True):
        ax.text(0, at, bar.label, transform=beside_axis, ha="right", va="center_baseline", fontsize=8,
                color=palette.TEXT)
    ax.xaxis.set_major_formatter(FuncFormatter(_money_axis))
    _style(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=palette.GRID, linewidth=0.6)
    ax.tick_params(axis="x", length=0)
    longest = max((len(b.label) for b in bars), default=4)
    # room for the longest label at 8 pt as the PDF draws it (DejaVu Sans runs ~0.075 in a character;
    # a tighter guess cut the first letters off at the chart's left edge)
    _margins(fig, left_in=0.3 + 0.075 * longest, bottom_in=0.35, top_in=0.1)
    return _svg(fig, chart_id)


@_charted
def volume_with_cost(labels: Sequence[str], requests: Sequence[int], cost_nanos: Sequence[int],
                     chart_id: str) -> str:
    """Request volume as bars with the cost line over them, on a second axis."""
    fig = Figure(figsize=(WIDTH_IN, 2.4))
    ax = fig.add_subplot()
    positions = list(range(len(labels)))
    _bar_series(ax, positions, [float(r) for r in requests], [0.0] * len(positions), palette.VOLUME, 0.8)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("requests", fontsize=8, color=palette.TEXT)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    cost_axis = ax.twinx()
    cost_axis.plot(positions, [_dollars(c) for c in cost_nanos], color=palette.ACCENT, linewidth=1.6,
                   marker="o" if len(labels) <= 31 else None, markersize=2.5, label="spend")
    cost_axis.set_ylim(bottom=0)
    cost_axis.yaxis.set_major_formatter(FuncFormatter(_money_axis))
    cost_axis.tick_params(labelsize=8, colors=palette.ACCENT, length=0)
    cost_axis.spines[["top"]].set_visible(False)
    ax.set_xticks(*_thin_ticks(list(labels), 12))
    ax.set_xlim(-0.6, max(len(labels), 1) - 0.4)
    _style(ax)
    _margins(fig, left_in=0.85, bottom_in=0.5, top_in=0.1, right_in=0.75)
    return _svg(fig, chart_id)
