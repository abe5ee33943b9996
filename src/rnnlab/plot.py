"""Plots, written as PNG files. matplotlib is imported only here, only when plotting.

Install it with ``pip install 'rnnlab[plot]'``. No global matplotlib state is touched
(no pyplot): figures are drawn on an off-screen Agg canvas, so this works with no display.
"""

from __future__ import annotations

import io as _io
from pathlib import Path

import numpy as np

from rnnlab.errors import MissingDependency
from rnnlab.io import atomic_write


def _new_figure(width: float, height: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependency("plotting needs matplotlib: pip install 'rnnlab[plot]'", "matplotlib") from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path) -> Path:
    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def plot_history(history, path, title: str = "Training", floor: float | None = None,
                 loss_label: str = "mean cross-entropy per step (nats)") -> Path:
    """Loss and accuracy per epoch (train and validation) as a two-panel PNG at ``path``.

    history: a :class:`~rnnlab.training.History`. floor: draw the best achievable loss
    (e.g. ln(26)/5 for the letter task) as a dashed line. A history without accuracies (a
    regression task) gets the loss panel only. Returns the path written.
    """
    epochs = history["epoch"]
    has_acc = any(v is not None for v in history["train_accuracy"])
    fig = _new_figure(10 if has_acc else 6, 4)
    ax_loss, ax_acc = fig.subplots(1, 2) if has_acc else (fig.subplots(1, 1), None)
    ax_loss.plot(epochs, history["train_loss"], label="train")
    if any(v is not None for v in history["val_loss"]):
        ax_loss.plot(epochs, history["val_loss"], label="held-out")
    if floor is not None:
        label = f"best possible on unseen data ({floor:.3f})"
        ax_loss.axhline(floor, color="gray", linestyle="--", linewidth=1, label=label)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel(loss_label)
    ax_loss.set_title("Loss")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend()
    if ax_acc is None:
        fig.suptitle(title)
        return _save(fig, path)
    ax_acc.plot(epochs, history["train_accuracy"], label="train")
    if any(v is not None for v in history["val_accuracy"]):
        ax_acc.plot(epochs, history["val_accuracy"], label="held-out")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("next-token accuracy (fraction of steps)")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.set_title("Accuracy")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend()
    fig.suptitle(title)
    return _save(fig, path)


def plot_gradient_flow(groups: dict, path, hidden_size: int | None = None) -> Path:
    """The vanishing-gradient picture: |dL/dh_t| against t, one panel per setting, log scale.

    groups: ``{setting: {layer name: [|dL/dh_1|, ..., |dL/dh_T|]}}``, as returned by
    :func:`rnnlab.diagnostics.gradient_flow`.
    """
    fig = _new_figure(11, 4.5)
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True))
    colors = {"RNN": "tab:red", "LSTM": "tab:blue", "GRU": "tab:green"}
    for ax, (setting, norms) in zip(axes, groups.items(), strict=True):
        steps = 0
        for name, values in norms.items():
            steps = len(values)
            ax.semilogy(range(1, steps + 1), values, label=name, linewidth=2, color=colors.get(name.split(",")[0]))
        ax.set_xlabel(f"time step t (the loss depends on step {steps} only)")
        ax.set_title(setting)
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    axes[0].set_ylabel("|dL/dh_t|: gradient reaching step t (log scale)")
    size = f" (one layer, hidden size {hidden_size}, float64)" if hidden_size else ""
    fig.suptitle(f"How far back the gradient reaches{size}")
    return _save(fig, path)


def plot_forecast(rows: list[dict], meta: dict, path, title: str = "Forecast", context: int = 200) -> Path:
    """Forecast against actual values, one panel per forecast column, with the last ``context``
    steps of history before the forecast origin; dates on the x axis when the series has them,
    and a probabilistic forecast's intervals as bands (the outermost quantiles, and the next pair).

    rows, meta: as returned by :meth:`rnnlab.tasks.forecast.ForecastTask.forecast_table` (each
    row: step, date, ``name`` forecast, ``name_qP`` quantiles and ``name_actual``).
    """
    targets = meta["targets"]
    fig = _new_figure(10, 3.2 * len(targets))
    axes = np.atleast_1d(fig.subplots(len(targets), 1, squeeze=False)[:, 0])
    origin = meta["origin"]
    hist = np.asarray(meta["history"])[-context:]
    dates = meta.get("dates")
    if dates:
        stamps = np.array(dates, dtype="datetime64[s]")
        t_hist = stamps[origin - hist.shape[0] : origin]
        t_fc = np.array([r["date"] for r in rows], dtype="datetime64[s]")
    else:
        t_hist = np.arange(origin - hist.shape[0], origin)
        t_fc = origin + np.array([r["step"] - 1 for r in rows])
    for j, (ax, name) in enumerate(zip(axes, targets, strict=False)):
        ax.plot(t_hist, hist[:, j], color="black", linewidth=1, label="history")
        bands = sorted((float(k[len(name) + 2 :]), k) for k in rows[0] if k.startswith(f"{name}_q"))
        for i, alpha in ((0, 0.18), (1, 0.3)):
            if len(bands) >= 2 * (i + 1):
                lo, hi = bands[i], bands[-1 - i]
                ax.fill_between(t_fc, [r[lo[1]] for r in rows], [r[hi[1]] for r in rows], color="tab:red",
                                alpha=alpha, linewidth=0, label=f"{lo[0]:g}-{hi[0]:g}% interval")
        actual = [np.nan if r[f"{name}_actual"] is None else r[f"{name}_actual"] for r in rows]
        if not np.all(np.isnan(actual)):
            ax.plot(t_fc, actual, color="tab:gray", linewidth=1.2, label="actual")
        ax.plot(t_fc, [r[name] for r in rows], color="tab:red", linewidth=1.6, label="forecast")
        where = f" (origin {dates[origin]})" if dates and origin < len(dates) else ""
        ax.set_ylabel(name)
        ax.set_xlabel("date" if dates else f"time step{where}")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    if dates:
        fig.autofmt_xdate()
    fig.suptitle(title)
    return _save(fig, path)


def plot_backtest(rows: list[dict], path, title: str = "Backtest") -> Path:
    """The MAE of each origin's forecast, for the model and every baseline (rows: ``rnnlab backtest``'s,
    each with ``origin``, ``date`` and one MAE per forecaster); dates on the x axis where there are some."""
    fig = _new_figure(10, 3.6)
    ax = fig.subplots()
    dated = rows[0]["date"] is not None
    x = np.array([r["date"] for r in rows], dtype="datetime64[s]") if dated else [r["origin"] for r in rows]
    for name in [n for n in rows[0] if n not in ("origin", "date")]:
        ax.plot(x, [r[name] for r in rows], linewidth=2.0 if name == "model" else 1.0, label=name,
                color="black" if name == "model" else None, alpha=1.0 if name == "model" else 0.7)
    ax.set_xlabel("forecast origin" + ("" if dated else " (step)"))
    ax.set_ylabel("MAE over the horizon")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if dated:
        fig.autofmt_xdate()
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def plot_confusion(confusion, classes, path, title: str = "Confusion matrix") -> Path:
    """A confusion matrix (rows: true class, columns: predicted) as a heat map with counts."""
    cm = np.asarray(confusion)
    K = len(classes)
    fig = _new_figure(1.2 + 0.55 * K, 1.0 + 0.5 * K)
    ax = fig.subplots()
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(K), classes)
    ax.set_yticks(range(K), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    top = cm.max() if cm.size else 0
    for i in range(K):
        for j in range(K):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        color="white" if cm[i, j] > top / 2 else "black", fontsize=8)
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def plot_spectrograms(examples: list[dict], path, title: str = "Spectrograms") -> Path:
    """Log-mel spectrograms of a few recordings in a grid, each titled with its true and
    predicted class (red where they differ).

    examples: dicts with ``name``, ``spectrogram`` (n_mels, T) in dB, ``hop_s`` (seconds a frame),
    ``true`` and ``predicted`` (see ``ClassifyTask.spectrogram_examples``).
    """
    columns = min(3, max(1, len(examples)))
    rows = max(1, -(-len(examples) // columns))
    fig = _new_figure(3.6 * columns, 2.6 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, ex in zip(axes, examples, strict=False):
        spec = np.asarray(ex["spectrogram"])
        ax.imshow(spec, origin="lower", aspect="auto", cmap="magma",
                  extent=(0.0, spec.shape[1] * ex["hop_s"], 0, spec.shape[0]))
        wrong = ex["true"] != ex["predicted"]
        ax.set_title(f"{ex['name']}: true {ex['true']}, predicted {ex['predicted']}", fontsize=8,
                     color="tab:red" if wrong else "black")
        ax.set_xlabel("seconds")
        ax.set_ylabel("mel band")
    for ax in axes[len(examples):]:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
