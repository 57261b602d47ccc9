"""The catalog's plants (synthetic/catalog_plants.py): each only adds rows of its own project, and
reports a positive expected saving."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic import PLANTS
from synthetic.catalog import PROJECT_INDEX
from synthetic.catalog_plants import FOUND_BY, PLANT_SPECS
from tests.unit.test_synthetic_generator import assert_same_rows, generated

SPECS = {spec.plant: spec for spec in PLANT_SPECS}


@pytest.mark.parametrize("plant", sorted(SPECS))
def test_a_catalog_plant_only_adds_rows_of_its_own_project(plant: str) -> None:
    spec = SPECS[plant]
    with_it = generated(count=7).rows
    without = generated(count=7, plants=frozenset(PLANTS) - {plant}).rows
    mine = (with_it["mark"] & spec.mark) != 0
    assert mine.sum() > 0
    assert (with_it["project"][mine] == PROJECT_INDEX[spec.project]).all()
    assert_same_rows({k: v[~mine] for k, v in with_it.items()}, without)


def test_every_catalog_plant_reports_a_positive_expected_saving() -> None:
    planted = {e["pattern"]: e for e in generated(count=30).planted}
    for plant in FOUND_BY:
        assert planted[plant]["expected_nanos"] > 0, plant
    assert planted["cacheable_prompts"]["detail"]["cache_lifetime"] == "5m"
    assert np.isclose(planted["spend_spike"]["detail"]["spike_week_nanos"],
                      3 * planted["spend_spike"]["detail"]["baseline_week_nanos"], rtol=0.5)
