"""Forecaster: gradients, units, learning, recursive forecasts, checks."""

import numpy as np
import pytest

from rnnlab.data.series import (
    mae,
    persistence_forecast,
    windows,
)
from rnnlab.errors import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.gradcheck import check_model
from rnnlab.models import Forecaster, load_model

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("relative", "loss"), [(True, "mse"), (False, "mae")])
def test_forecaster_gradients(cell, relative, loss, rng):
    model = Forecaster(["a", "b"], ["b"], horizon=3, cell=cell, hidden_size=4, num_layers=2, relative=relative,
                       loss=loss, mean=[1.0, -2.0], std=[2.0, 0.5], dtype=np.float64, rng=rng)
    x, y = rng.standard_normal((3, 5, 2)), rng.standard_normal((3, 3, 1))
    assert check_model(model, x, y).max_error < 1e-6


def test_forecaster_works_in_the_series_units():
    """Scaling and the relative reading are inside the model: shifting a series shifts the forecast."""
    model = Forecaster(["y"], horizon=2, hidden_size=6, dtype=np.float64, rng=0).fit_scaling(np.arange(50.0)[:, None])
    x = np.sin(np.arange(10.0))[None, :, None]
    np.testing.assert_allclose(model.predict(x + 100.0), model.predict(x) + 100.0, rtol=0, atol=1e-9)
    absolute = Forecaster(["y"], horizon=2, hidden_size=6, relative=False, rng=0).fit_scaling(np.arange(50.0)[:, None])
    assert not np.allclose(absolute.predict(x + 100.0), absolute.predict(x) + 100.0)


def test_forecaster_learns_a_sine_and_forecasts_recursively(tmp_path):
    t = np.arange(500.0)
    series = (5 + 2 * np.sin(2 * np.pi * t / 20))[:, None]
    X, Y, _ = windows(series, 24, 4, start=0, stop=400)
    model = Forecaster(["y"], horizon=4, window=24, hidden_size=16, rng=0).fit_scaling(series[:400])
    history = model.fit(X, Y, epochs=15, lr=0.01, seed=0, progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0] / 10
    assert history["train_accuracy"][-1] is None  # a regressor has no accuracy
    fc = model.forecast(series[:400], 10)  # 4 + 4 + 2, feeding forecasts back
    assert fc.shape == (10, 1)
    assert mae(series[400:410], fc) < mae(series[400:410], persistence_forecast(series, [400], 10)[0])
    model.save(tmp_path / "f.npz")
    loaded = load_model(tmp_path / "f.npz")
    np.testing.assert_array_equal(loaded.predict(X[:5]), model.predict(X[:5]))
    assert loaded.mean.tolist() == model.mean.tolist() and loaded.window == 24


def test_forecaster_checks():
    model = Forecaster(["a", "b"], ["a"], horizon=2, hidden_size=3, rng=0)
    with pytest.raises(RnnlabError, match=r"no scaling yet: call fit_scaling"):
        model.predict(np.zeros((1, 5, 2)))
    with pytest.raises(DataError, match="column 'b' holds NaN"):
        model.fit_scaling(np.array([[1.0, 2.0], [3.0, np.nan]]))
    with pytest.raises(DataError, match=r"column 'a' holds values up to 1e\+300, too large"):
        model.fit_scaling(np.array([[1e300, 2.0], [3.0, 4.0]]))
    model.fit_scaling(np.arange(20.0).reshape(10, 2))
    with pytest.raises(ShapeError, match=r"\(N, T, 2\)"):
        model.predict(np.zeros((1, 5, 3)))
    with pytest.raises(DataError, match="NaN"):
        model.predict(np.full((1, 5, 2), np.nan))
    with pytest.raises(ShapeError, match=r"targets should have shape \(1, 2, 1\)"):
        model.loss(np.zeros((1, 5, 2)), np.zeros((1, 1, 1)))
    with pytest.raises(ConfigError, match="feeding forecasts back"):
        model.forecast(np.zeros((10, 2)), 5)
    windowed = Forecaster(["a"], window=8, rng=0).fit_scaling(np.arange(20.0)[:, None])
    with pytest.raises(ShapeError, match=r"windows should be 8 steps long \(the model's window\), got 5"):
        windowed.predict(np.zeros((1, 5, 1)))
    with pytest.raises(ConfigError, match="targets should be among"):
        Forecaster(["a"], ["z"])
    with pytest.raises(ConfigError, match="loss should be"):
        Forecaster(["a"], loss="huber")


def test_forecast_windows_feeds_forecasts_back(rng):
    model = Forecaster(["a", "b"], horizon=2, hidden_size=5, dtype=np.float64, rng=0).fit_scaling(
        rng.standard_normal((30, 2)))
    x = rng.standard_normal((3, 6, 2))
    out = model.forecast_windows(x, 5)  # 2 + 2 + 1 steps
    assert out.shape == (3, 5, 2)
    np.testing.assert_array_equal(out[:, :2], model.predict(x))
    slid = np.concatenate([x, out[:, :2]], axis=1)[:, -6:]  # the window slides over the forecasts
    np.testing.assert_allclose(out[:, 2:4], model.predict(slid), rtol=1e-12)
    np.testing.assert_allclose(model.forecast(x[1], 5), out[1], rtol=1e-12)
