"""Rolling-origin evaluation (backtesting) of a forecast run over its test part.

From every K-th step of the test part (an origin), the model forecasts the horizon from the
window before it, and so does every baseline; each origin is scored on its own (MAE over the
horizon and the targets) and all of them together (MAE, RMSE, MASE; a probabilistic model's
intervals). Without refitting, every forecast is made in one batched call. With
``refit_every`` R, the model is trained on again (from its weights, ``refit_epochs`` epochs at
the run's learning rate and batch size) on every window whose targets end before the block's
first origin, every R origins: what deploying it and retraining it as data arrives would have
scored.
"""

from __future__ import annotations

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.models.forecast_head import join_forecasts
from rnnlab.tasks.forecast_report import ScoredTest


def origins_of(task, config, every: int) -> np.ndarray:
    """Every ``every``-th origin of the test part."""
    d = config.data
    values, meta, (_, b) = task.split(d)
    _, origins = task.windowed(d, values, meta, b, values.shape[0], d.horizon)
    return origins[::every]


def refitted(model, task, config, origin: int, epochs: int):
    """A copy of ``model`` trained ``epochs`` more epochs on every window whose targets lie before ``origin``."""
    d = config.data
    values, meta, _ = task.split(d)
    arrays, _ = task.windowed(d, values, meta, 0, origin)
    copy = type(model).from_config(model.get_config())
    copy.load_state_dict(model.state_dict())
    t = config.train
    copy.fit(*arrays, epochs=epochs, lr=t.lr, batch_size=t.batch_size, clip_norm=t.clip_norm, seed=config.seed,
             progress=False)
    return copy


def backtest(task, model, config, every: int = 1, refit_every: int = 0, refit_epochs: int = 5) -> dict:
    """``{"rows": one per origin, "overall": task.metrics(...), "refits": n}``: each row has the
    origin's index and date and the MAE of the model and of every baseline."""
    if every < 1 or refit_every < 0 or refit_epochs < 1:
        raise ConfigError("every and refit_epochs should be positive, refit_every 0 (never) or positive")
    d = config.data
    chosen = origins_of(task, config, every)
    blocks = [chosen] if not refit_every else [chosen[i : i + refit_every] for i in range(0, len(chosen), refit_every)]
    parts = []
    for block in blocks:
        current = refitted(model, task, config, int(block[0]), refit_epochs) if refit_every else model
        parts.append(task.scored_test(current, d, block))
    first = parts[0]
    test = ScoredTest(first.values, first.meta, first.bounds, np.concatenate([p.origins for p in parts]),
                      np.concatenate([p.actual for p in parts]),
                      join_forecasts([p.forecast for p in parts], axis=0),
                      {k: np.concatenate([p.baselines[k] for p in parts]) for k in first.baselines})
    dates = test.meta["dates"]
    rows = []
    for j, origin in enumerate(test.origins):
        row = {"origin": int(origin), "date": dates[origin] if dates else None,
               "model": float(np.mean(np.abs(test.forecast["point"][j] - test.actual[j])))}
        for name, pred in test.baselines.items():
            row[name] = float(np.mean(np.abs(pred[j] - test.actual[j])))
        rows.append(row)
    return {"rows": rows, "overall": task.metrics(model, d, test), "refits": len(blocks) if refit_every else 0,
            "every": every}
