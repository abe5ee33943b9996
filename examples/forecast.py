"""Forecast monthly sunspots 12 months ahead, against the persistence and seasonal-naive baselines.

Run it with:  .venv/bin/python examples/forecast.py
"""

from rnnlab import datasets
from rnnlab.data.series import forecast_metrics, mase_scale, persistence_forecast, split_points, windows
from rnnlab.models import Forecaster

values, meta = datasets.load_series("sunspots", columns=["sunspots"])  # (3126, 1), dates in meta["dates"]
a, b = split_points(len(values), 0.15, 0.15)  # train | validation | test, in time order
W, h = 60, 12
X, Y, _ = windows(values, W, h, start=0, stop=a)  # inputs: the W months before; targets: the next h
Xv, Yv, _ = windows(values, W, h, start=a, stop=b)
Xt, Yt, origins = windows(values, W, h, start=b)

model = Forecaster(["sunspots"], horizon=h, window=W, hidden_size=32, rng=0).fit_scaling(values[:a])  # train only
model.fit(X, Y, validation=(Xv, Yv), epochs=15, lr=3e-3, clip_norm=5.0, seed=0)

scale = mase_scale(values[:a])  # MASE's denominator: in-sample one-step naive MAE
print("model      ", forecast_metrics(Yt, model.predict(Xt), scale))
print("persistence", forecast_metrics(Yt, persistence_forecast(values, origins, h), scale))
print("next 24 months after the data:", model.forecast(values, 24)[:, 0].round(1))
