"""The scatter-add of rows (an embedding's gradient)."""

import numpy as np
import pytest

from rnnlab.functional import scatter_add_rows


@pytest.mark.parametrize("num_rows", [5, 200])
def test_scatter_add_rows_matches_add_at(rng, num_rows):
    ids = rng.integers(0, num_rows, 400)
    rows = rng.standard_normal((400, 3))
    expected = np.zeros((num_rows, 3))
    np.add.at(expected, ids, rows)
    np.testing.assert_allclose(scatter_add_rows(ids, rows, num_rows), expected, rtol=1e-12, atol=1e-12)
