"""The SVG charts on their own: round axis values, well-formed XML whatever the labels, the same bytes twice."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pdf import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = 'dev \x01 <img src="x"> & $x^2$\nnext'


@pytest.mark.parametrize(("low", "high", "most", "expected"), [
    (0, 110.4, 7, [0, 20, 40, 60, 80, 100]),
    (0, 6552, 8, [0, 1000, 2000, 3000, 4000, 5000, 6000]),
    (0, 7350, 6, [0, 2000, 4000, 6000]),
    (0, 86.3, 9, [0, 10, 20, 30, 40, 50, 60, 70, 80]),
    (0, 1.05, 6, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (-52.5, 105, 6, [-50, 0, 50, 100]),
    (-52.5, 105, 7, [-50, -25, 0, 25, 50, 75, 100]),
])
def test_axis_values_are_round_steps_within_the_range(low: float, high: float, most: int,
                                                      expected: list[float]) -> None:
    assert charts.nice_ticks(low, high, most) == pytest.approx(expected)


def all_charts(label: str) -> list[str]:
    buckets = [charts.StackedBucket(f"{label} {i}", {"openai": 1_500_000_000 * i, label: 10**9}) for i in range(31)]
    bars = [charts.Bar(f"{label} {i}", 10**9 * (i + 1), "#1f3a5f") for i in range(12)]
    return [charts.stacked_over_time(buckets, "chart-a"), charts.horizontal_bars(bars, "chart-b"),
            charts.volume_with_cost([f"{label} {i}" for i in range(31)], list(range(31)),
                                    [10**8 * i for i in range(31)], "chart-c")]


def texts(svg: str) -> list[str | None]:
    return [node.text for node in ET.fromstring(svg).iter(f"{SVG}text")]


def test_hostile_labels_stay_plain_text_in_well_formed_svg() -> None:
    over_time, bars, volume = all_charts(HOSTILE)
    # the XML-invalid character dropped, markup kept as characters; a tick label's line break starts its
    # second line, any other label is one line
    assert 'dev <img src="x"> & $x^2$ next' in texts(over_time)  # the legend
    assert {'dev <img src="x"> & $x^2$', "next 0"} <= set(texts(over_time)) & set(texts(volume))
    assert 'dev <img src="x"> & $x^2$ next 11' in texts(bars)
    for svg in (over_time, bars, volume):  # marks and text only: nothing a label could have turned into markup
        assert {node.tag for node in ET.fromstring(svg).iter()} == {f"{SVG}svg", f"{SVG}path", f"{SVG}text"}


def test_the_same_data_gives_the_same_bytes() -> None:
    assert all_charts("anthropic") == all_charts("anthropic")


def test_empty_charts_still_draw_their_axes() -> None:
    for svg in (charts.stacked_over_time([], "e1"), charts.horizontal_bars([], "e2"),
                charts.volume_with_cost([], [], [], "e3")):
        assert ET.fromstring(svg).find(f"{SVG}path") is not None


def test_an_axis_writes_all_its_amounts_alike() -> None:
    whole, small = charts._money_axis([0, 5, 10, 15]), charts._money_axis([0, 0.25, 0.5])
    assert [whole(t) for t in (0, 5, 10, 15)] == ["$0", "$5", "$10", "$15"]  # not $5.00 beside $10
    assert [small(t) for t in (0, 0.25, 0.5)] == ["$0.00", "$0.25", "$0.50"]
    assert whole(20_000) == "$20k"
