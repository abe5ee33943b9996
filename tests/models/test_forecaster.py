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


@pytest.mark.parametrize(("cell", "loss", "relative"), [("rnn", "mse", True), ("lstm", "quantile", True),
                                                        ("gru", "gaussian", False), ("lstm", "gaussian", True),
                                                        ("gru", "quantile", False)])
def test_forecaster_with_future_covariates_gradients(cell, loss, relative, rng):
    model = Forecaster(["y", "x", "hour"], ["y"], future=["hour"], horizon=2, cell=cell, hidden_size=3, num_layers=2,
                       relative=relative, loss=loss, quantiles=[0.2, 0.5, 0.8], mean=[1.0, 0.0, -1.0],
                       std=[2.0, 1.0, 0.5], dtype=np.float64, rng=rng)
    x, y, f = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 2, 1)), rng.standard_normal((2, 2, 1))
    assert check_model(model, x, y, f).max_error < 1e-6


@pytest.mark.parametrize("future", [None, ["hour"]])
def test_a_projected_lstm_forecaster_gradients_and_model_file(future, rng, tmp_path):
    """The projection in the encoder, and in the decoder that starts from its state (h has P features, c H)."""
    model = Forecaster(["y", "x", "hour"], ["y"], future=future, horizon=2, hidden_size=4, num_layers=2, proj_size=2,
                       mean=[1.0, 0.0, -1.0], std=[2.0, 1.0, 0.5], dtype=np.float64, rng=rng)
    x, y = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 2, 1))
    f = rng.standard_normal((2, 2, 1)) if future else None
    assert check_model(model, x, y, *([f] if future else [])).max_error < 1e-6
    again = load_model(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(again.predict(x, f), model.predict(x, f))


def test_a_layer_normalised_forecaster_with_a_decoder_gradients_and_model_file(rng, tmp_path):
    model = Forecaster(["y", "hour"], ["y"], future=["hour"], horizon=2, hidden_size=4, layer_norm=True,
                       mean=[1.0, 0.0], std=[2.0, 1.0], dtype=np.float64, rng=rng)
    x, y, f = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 2, 1)), rng.standard_normal((2, 2, 1))
    assert model.decoder.layer_norm and check_model(model, x, y, f).max_error < 1e-6
    again = load_model(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(again.predict(x, f), model.predict(x, f))


def test_recurrent_dropout_reaches_the_encoder_and_the_decoder(rng, tmp_path):
    model = Forecaster(["y", "hour"], ["y"], future=["hour"], horizon=2, hidden_size=4, recurrent_dropout=0.5,
                       mean=[1.0, 0.0], std=[2.0, 1.0], rng=rng)
    assert model.rnn.recurrent_dropout == model.decoder.recurrent_dropout == 0.5
    again = load_model(model.save(tmp_path / "m.npz"))
    assert again.decoder.recurrent_dropout == 0.5
    x, f = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 2, 1))
    np.testing.assert_array_equal(again.predict(x, f), model.predict(x, f))


@pytest.mark.parametrize("loss", ["quantile", "gaussian"])
def test_probabilistic_forecasters_without_covariates_gradients(loss, rng):
    model = Forecaster(["a", "b"], horizon=2, hidden_size=4, loss=loss, mean=[0.5, 0.0], std=[1.0, 3.0],
                       dtype=np.float64, rng=rng)
    assert model.head.params == (3 if loss == "quantile" else 2) and model.fc.out_features == 2 * 2 * model.head.params
    assert check_model(model, rng.standard_normal((4, 6, 2)), rng.standard_normal((4, 2, 2))).max_error < 1e-6


def test_the_decoder_reads_the_future_and_forecasts_any_number_of_steps(rng, tmp_path):
    model = Forecaster(["y", "hour"], ["y"], future=["hour"], horizon=4, window=6, hidden_size=5, loss="quantile",
                       dtype=np.float64, rng=0).fit_scaling(rng.standard_normal((50, 2)))
    x, f = rng.standard_normal((2, 6, 2)), rng.standard_normal((2, 4, 1))
    found = model.predict_distribution(x, f)
    assert found["quantiles"].shape == (2, 4, 1, 3) and (np.diff(found["quantiles"], axis=-1) >= 0).all()
    np.testing.assert_array_equal(found["point"], found["quantiles"][..., 1])  # the median
    # a causal decoder: the first two steps do not depend on the covariates of the later ones
    short = model.predict_distribution(x, f[:, :2])["point"]
    np.testing.assert_allclose(short, found["point"][:, :2], rtol=0, atol=1e-12)
    changed = f.copy()
    changed[:, 0] += 1.0
    assert not np.allclose(model.predict(x, changed)[:, 0], found["point"][:, 0])
    # beyond the horizon: forecasts and the known covariates are fed back, chunk by chunk
    more = rng.standard_normal((2, 10, 1))
    long = model.forecast_windows(x, 10, more)
    np.testing.assert_allclose(long[:, :4], model.predict(x, more[:, :4]), atol=1e-12)
    fed = np.concatenate([x, np.concatenate([long[:, :4], more[:, :4]], axis=2)], axis=1)[:, -6:]
    np.testing.assert_allclose(long[:, 4:8], model.predict(fed, more[:, 4:8]), atol=1e-12)
    again = load_model(model.save(tmp_path / "m.npz"))
    np.testing.assert_allclose(again.predict(x, f), found["point"], atol=1e-12)
    with pytest.raises(ConfigError, match="reads the future values of hour"):
        model.predict(x)
    with pytest.raises(ShapeError, match=r"future covariates should have shape \(2, 4, 1\)"):
        model.check_data(x, np.zeros((2, 4, 1)), np.zeros((2, 3, 1)))
    past_only = Forecaster(["y", "x", "hour"], ["y"], future=["hour"], horizon=2, window=6, hidden_size=3,
                           rng=0).fit_scaling(rng.standard_normal((30, 3)))
    with pytest.raises(ConfigError, match="x is neither"):
        past_only.forecast_windows(rng.standard_normal((1, 6, 3)), 5, np.zeros((1, 5, 1)))


def test_a_gaussian_forecast_has_a_positive_scale_and_matching_quantiles(rng):
    model = Forecaster(["y"], horizon=3, hidden_size=4, loss="gaussian", quantiles=[0.1, 0.9], dtype=np.float64,
                       rng=0).fit_scaling(rng.standard_normal((40, 1)) * 5 + 3)
    found = model.predict_distribution(rng.standard_normal((5, 8, 1)))
    assert (found["std"] > 0).all()
    np.testing.assert_allclose(found["quantiles"][..., 1] - found["point"], 1.2815515655446004 * found["std"])
    with pytest.raises(ConfigError, match="quantiles should be increasing"):
        Forecaster(["y"], loss="quantile", quantiles=[0.5, 0.1])
    with pytest.raises(ConfigError, match="future covariates should be columns that are not targets"):
        Forecaster(["y", "h"], ["y"], future=["y"])


def test_log_targets_forecast_in_the_series_units(rng, tmp_path):
    counts = np.exp(rng.standard_normal((60, 1)) + 3)  # positive, spread growing with the level
    model = Forecaster(["n"], horizon=2, window=5, hidden_size=4, loss="quantile", log_targets=True,
                       dtype=np.float64, rng=0).fit_scaling(counts)
    np.testing.assert_allclose(model.mean, np.log1p(counts).mean(axis=0))  # scaled in log(1 + y) space
    x = counts[None, :5]
    found = model.predict_distribution(x)
    plain = Forecaster(["n"], horizon=2, window=5, hidden_size=4, loss="quantile", dtype=np.float64,
                       rng=0).fit_scaling(np.log1p(counts))
    plain.load_state_dict(model.state_dict())
    np.testing.assert_allclose(found["quantiles"], np.expm1(plain.predict_distribution(np.log1p(x))["quantiles"]))
    assert check_model(model, counts[None, :5].repeat(2, 0), counts[None, 5:7].repeat(2, 0)).max_error < 1e-6
    assert load_model(model.save(tmp_path / "m.npz")).log_targets
    with pytest.raises(DataError, match="should stay above -1"):
        model.predict(-np.ones((1, 5, 1)) * 2)
    with pytest.raises(ConfigError, match="does not write yet"):
        model.to_onnx(tmp_path / "m.onnx")


def test_a_config_written_before_an_option_existed_still_matches():
    model = Forecaster(["y"], horizon=2, hidden_size=4, rng=0)
    older = {k: v for k, v in model.get_config().items() if k not in ("future", "quantiles", "log_targets")}
    assert model.matches_config(older) and model.matches_config(model.get_config())
    assert not model.matches_config({**older, "hidden_size": 5}) and not model.matches_config({"nonsense": 1})
