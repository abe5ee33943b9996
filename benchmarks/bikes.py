"""The bike-sharing bars of issue 13, run by ``benchmarks/tasks.py --task forecast`` (see its docstring).

Hourly ``cnt`` 24 hours ahead (calendar and weather covariates known in advance, quantile loss
on log counts, intervals calibrated on the validation part): test MAE at least 15% below the
better seasonal naive (24 or 168 hours), and the 80% interval covering 75-85% of the test
values; ``casual`` and ``registered`` as two series of one model, each beating its better
seasonal naive; daily ``cnt`` 7 days ahead, beating seasonal naive (7) and persistence. Where
statsforecast imports, its AutoETS (season 24, fitted on the training part) and MSTL (seasons 24
and 168, fitted on the last 8 weeks of it) forecast from the same daily origins as a backtest of
the hourly run (``rnnlab backtest --every 24``), each origin's forecast made from the history
before it without refitting (their ``forward``), scored beside the model and the baselines.
Those two read the series alone, no covariates.
"""
from __future__ import annotations

import time

import numpy as np

COVARIATES = ["--calendar", "hour,weekday,yearday", "--future-features",
              "workingday,holiday,temp,hum,windspeed,weathersit"]
HOURLY = ["bike-hourly", "--horizon", "24", "--window", "168", "--gaps", "interpolate", *COVARIATES, "--cell", "gru"]
CASES = {
    "hourly cnt, 24 h": [*HOURLY, "--hidden-size", "32", "--loss", "quantile", "--log-targets", "--conformal"],
    "hourly casual + registered, 24 h": [*HOURLY, "--hidden-size", "64", "--column", "casual,registered"],
    "daily cnt, 7 days": ["bike-daily", "--horizon", "7", "--window", "28", "--calendar", "weekday,yearday",
                          "--future-features", "workingday,holiday,temp,hum,windspeed,weathersit", "--cell", "gru",
                          "--hidden-size", "32"],
}
MSTL_HISTORY = 8 * 168


def seasonal_best(test: dict) -> tuple[str, float]:
    return min(((k, v["mae"]) for k, v in test.items() if k.startswith("seasonal naive")), key=lambda kv: kv[1])


def bar(name: str, results: dict) -> tuple[bool, str]:
    """Whether a case met its bar, and the bar in words."""
    test = results["test"]
    if name.startswith("hourly cnt"):
        best, mae = seasonal_best(test)
        cover = results["intervals"]["intervals"][0]["coverage"]
        ok = test["model"]["mae"] <= 0.85 * mae and 0.75 <= cover <= 0.85
        return ok, f"MAE at most 0.85 x {best} ({0.85 * mae:.4g}); 80% interval covers 75-85% (covers {cover:.1%})"
    if name.startswith("hourly casual"):
        ok = all(t["model"]["mae"] < seasonal_best(t)[1] for t in results["per_target"].values())
        return ok, "each series beats its better seasonal naive"
    ok = test["model"]["mae"] < min(test["seasonal naive (7)"]["mae"], test["persistence"]["mae"])
    return ok, "beats seasonal naive (7) and persistence"


def statsforecast_rows(run_folder, every: int) -> dict | None:
    """MAE of AutoETS and MSTL from the daily origins of the hourly run's test part, or None without statsforecast."""
    try:
        from statsforecast.models import MSTL, AutoETS
    except ImportError:
        return None
    from rnnlab.runs import Run
    from rnnlab.tasks.backtest import origins_of

    run = Run.open(run_folder)
    data = run.data()
    y, (a, _) = data.info["values"][:, 0], data.info["bounds"]
    h = run.config.data.horizon
    origins = origins_of(run.task, run.config, every)
    out = {}
    for name, model, history in (("AutoETS (24)", AutoETS(season_length=24), None),
                                 ("MSTL (24, 168)", MSTL(season_length=[24, 168]), MSTL_HISTORY)):
        start = time.perf_counter()
        fitted = model.fit(y[:a] if history is None else y[a - history : a])
        errors = [np.mean(np.abs(fitted.forward(y=y[:o] if history is None else y[o - history : o], h=h)["mean"]
                                 - y[o : o + h])) for o in origins]
        out[name] = {"mae": float(np.mean(errors)), "origins": len(origins), "seconds": time.perf_counter() - start}
    return out


def bench_bikes(args, folder, cli_json) -> dict:
    """Each case trained with the command line's defaults otherwise; the hourly run backtested daily."""
    out = {}
    for name, extra in CASES.items():
        start = time.perf_counter()
        run = f"{folder}/bikes-{len(out)}"
        summary = cli_json(["train", "forecast", *extra, "--seed", str(args.seed), "--out", run])
        results = summary["results"]
        met, words = bar(name, results)
        out[name] = {"results": results, "seconds": time.perf_counter() - start, "epochs": summary["epochs"],
                     "bar_met": met, "bar": words, "run": run}
        print(f"bikes {name}: model MAE {results['test']['model']['mae']:.4g}; bar ({words}) "
              f"{'met' if met else 'MISSED'} ({out[name]['seconds']:.0f} s)", flush=True)
    hourly = out["hourly cnt, 24 h"]["run"]
    daily = cli_json(["backtest", hourly, "--every", "24"], quiet=False)
    out["backtest, daily origins"] = {"overall": daily["overall"]["test"], "origins": len(daily["rows"]),
                                      "statsforecast": statsforecast_rows(hourly, 24)}
    return out


def print_table(out: dict) -> None:
    print("\n| series | bar | model | best baseline | met |")
    print("|---|---|---:|---|---|")
    for name, r in out.items():
        if "results" not in r:
            continue
        test = r["results"]["test"]
        best = min(((k, v["mae"]) for k, v in test.items() if k != "model"), key=lambda kv: kv[1])
        print(f"| {name} | {r['bar']} | {test['model']['mae']:.4g} | {best[0]} {best[1]:.4g} | "
              f"{'yes' if r['bar_met'] else 'NO'} |")
        for target, t in r["results"].get("per_target", {}).items():
            best = seasonal_best(t)
            print(f"| ... {target} | | {t['model']['mae']:.4g} | {best[0]} {best[1]:.4g} | |")
    bt = out["backtest, daily origins"]
    print(f"\nhourly cnt from {bt['origins']} daily origins of the test part (MAE over 24 hours):")
    for name, r in bt["overall"].items():
        print(f"  {name:<24}{r['mae']:>10.4g}")
    for name, r in (bt["statsforecast"] or {}).items():
        print(f"  {name:<24}{r['mae']:>10.4g}   (statsforecast, {r['seconds']:.0f} s)")
    if bt["statsforecast"] is None:
        print("  (statsforecast is not installed: pip install statsforecast to add AutoETS and MSTL)")
