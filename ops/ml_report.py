"""The anomaly detector's report: metrics as JSON, and PNG plots.

Written to <reports_dir>/ml/: score_distribution.png (scores of usual and anomalous purchases,
with the threshold), precision_recall.png (the model's precision-recall curve against the rule
baseline's), recall_per_pattern.png (recall at the threshold per injected pattern, model and
baseline), and metrics.json. The JSON also holds the bar sweep (the model graded over several
seeds and anomaly shares) and the same model fitted on every computed feature, for comparison."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure  # no pyplot: files only, no display or backend state
from rich.progress import Progress
from rich.table import Table
from sklearn.metrics import precision_recall_curve

from lakehouse.catalog import iceberg_catalog
from lakehouse.ground_truth import read_ground_truth
from lakehouse.settings import GOLD_FACT_TABLE, Settings
from ml import registry
from ml.anomalies import load_purchases
from ml.evaluation import BAR, Evaluation, evaluate, fit_and_evaluate, json_ready
from ml.features import FEATURES, build_features
from ml.model import ModelParams
from ops.grading import evaluate_generated, evaluation_options, generated_purchases
from producer.events import GeneratorOptions

SWEEP_FIGURES = ("roc_auc", "auprc", "precision_at_1pct", "bar_precision", "recall_at_threshold")


def sweep_row(seed: int, share: float, evaluation: Evaluation) -> dict[str, Any]:
    return {"seed": seed, "anomaly_share": share,
            **{k: evaluation.model[k] for k in SWEEP_FIGURES},
            "baseline_auprc": evaluation.baseline["auprc"],
            "meets_bar": not evaluation.failures()}


@dataclass
class Report:
    source: str
    data: dict[str, Any]
    model: dict[str, Any]
    evaluation: Evaluation
    sweep: list[dict[str, Any]] = field(default_factory=list)
    all_features: dict[str, Any] | None = None

    def as_dict(self, plots: list[Path]) -> dict[str, Any]:
        return {
            "source": self.source,
            "data": self.data,
            "model": self.model,
            "bar": {**BAR, "auprc_above_baseline": True},
            **self.evaluation.summary(),
            "all_features_model": self.all_features,
            "sweep": self.sweep,
            "sweep_meets_bar": all(r["meets_bar"] for r in self.sweep) if self.sweep else None,
            "plots": [str(p) for p in plots],
        }


def generated_report(options: GeneratorOptions, params: ModelParams | None = None) -> Report:
    """Grade a model fitted on generated purchases, and the same model on every feature."""
    params = params or ModelParams()
    purchases, truth = generated_purchases(options)
    evaluation = fit_and_evaluate(purchases, truth, params)
    everything = fit_and_evaluate(purchases, truth, replace(params, features=tuple(FEATURES)))
    return Report(
        source="generated",
        data={"count": options.count, "seed": options.seed, "anomaly_share": options.anomaly_share,
              "days": options.days, "end_time": options.end_time.isoformat()},
        model={"fitted": "in memory, on these purchases, without labels",
               "parameters": params.as_dict()},
        evaluation=evaluation,
        all_features={k: everything.model[k] for k in ("roc_auc", "auprc", "precision_at_1pct")},
    )


def gold_report(settings: Settings) -> Report:
    """Grade the current registered model (or one fitted in memory when none is) on the local
    gold.fct_purchases against the producer's ground-truth file."""
    catalog = iceberg_catalog(settings)
    if not catalog.table_exists(GOLD_FACT_TABLE):
        raise ValueError(f"no {GOLD_FACT_TABLE} in the local catalog: run `make demo` first")
    purchases, snapshot_id = load_purchases(catalog)
    truth = read_ground_truth(settings.ground_truth_path)
    if not purchases["event_id"].isin(truth).any():
        raise ValueError(f"no purchase of {GOLD_FACT_TABLE} is in {settings.ground_truth_path}")
    data = {"table": GOLD_FACT_TABLE, "snapshot_id": snapshot_id, "rows": len(purchases),
            "ground_truth": str(settings.ground_truth_path)}
    if registry.current_version(settings.models_dir):
        registered = registry.load(settings.models_dir)
        evaluation = evaluate(registered.model, build_features(purchases), purchases, truth)
        model = {"version": registered.version, "training": registered.training,
                 "parameters": registered.model.params.as_dict()}
    else:
        evaluation = fit_and_evaluate(purchases, truth)
        model = {"fitted": "in memory, on these purchases, without labels",
                 "parameters": ModelParams().as_dict()}
    return Report("gold", data, model, evaluation)


def run_sweep(seeds: tuple[int, ...], shares: tuple[float, ...], count: int,
              show_progress: bool = True) -> list[dict[str, Any]]:
    """The bar over several seeds and anomaly shares of generated data, one row each."""
    rows = []
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("bar sweep", total=len(seeds) * len(shares))
        for seed in seeds:
            for share in shares:
                evaluation = evaluate_generated(evaluation_options(seed, share, count))
                rows.append(sweep_row(seed, share, evaluation))
                progress.advance(task)
    return rows


# ---- plots


def _save(fig: Figure, path: Path, title: str, xlabel: str, ylabel: str, legend: str = "best") -> Path:
    ax = fig.axes[0]
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc=legend)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def plot_score_distribution(evaluation: Evaluation, path: Path) -> Path:
    usual = evaluation.patterns.isna().to_numpy()
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    bins = np.linspace(evaluation.scores.min(), evaluation.scores.max(), 60)
    ax.hist(evaluation.scores[usual], bins=bins, alpha=0.7, label=f"usual ({usual.sum()})")
    ax.hist(evaluation.scores[~usual], bins=bins, alpha=0.8, label=f"injected anomalies ({(~usual).sum()})")
    ax.axvline(evaluation.threshold, color="black", linestyle="--",
               label=f"threshold {evaluation.threshold:.3f} ({evaluation.model['flagged']} flagged)")
    ax.set_yscale("log")
    return _save(fig, path, "Isolation Forest scores", "anomaly score (higher: more anomalous)",
                 "purchases (log scale)")


def plot_precision_recall(evaluation: Evaluation, path: Path) -> Path:
    is_anomaly = evaluation.patterns.notna().to_numpy()
    fig = Figure(figsize=(6.5, 5))
    ax = fig.subplots()
    for name, scores, figures in (("Isolation Forest", evaluation.scores, evaluation.model),
                                  ("baseline: amount > p99", evaluation.baseline_scores,
                                   evaluation.baseline)):
        precision, recall, _ = precision_recall_curve(is_anomaly, scores)
        line, = ax.step(recall, precision, where="post",
                        label=f"{name} (AUPRC {figures['auprc']:.3f})")
        ax.plot(figures["recall_at_threshold"], figures["precision_at_threshold"], "o",
                color=line.get_color())
    ax.axhline(is_anomaly.mean(), color="grey", linestyle=":", label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    return _save(fig, path, "Precision-recall (dots: at each threshold)", "recall", "precision",
                 legend="center")


def plot_recall_per_pattern(evaluation: Evaluation, path: Path) -> Path:
    model, baseline = evaluation.model["recall_per_pattern"], evaluation.baseline["recall_per_pattern"]
    patterns = list(model)
    counts = evaluation.model["anomalies_per_pattern"]
    x = np.arange(len(patterns))
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    ax.bar(x - 0.2, [model[p] for p in patterns], 0.4, label="Isolation Forest")
    ax.bar(x + 0.2, [baseline[p] for p in patterns], 0.4, label="baseline: amount > p99")
    ax.set_xticks(x, [f"{p}\n({counts[p]})" for p in patterns], fontsize=8)
    ax.set_ylim(0, 1.05)
    return _save(fig, path, "Recall per injected pattern (anomalies per pattern)", "",
                 "recall at the threshold")


def figures_table(report: Report) -> Table:
    """The model's and the baseline's figures side by side."""
    evaluation = report.evaluation
    table = Table(title=f"anomaly detection on {report.source} data: "
                  f"{'meets' if not evaluation.failures() else 'MISSES'} the bar")
    for column in ("figure", "Isolation Forest", "baseline (amount > p99)"):
        table.add_column(column, justify="right" if column != "figure" else "left")
    for name in ("purchases", "anomalies", "roc_auc", "auprc", "precision_at_1pct", "r_precision",
                 "flagged", "precision_at_threshold", "recall_at_threshold"):
        table.add_row(name, _fmt(evaluation.model[name]), _fmt(evaluation.baseline[name]))
    for pattern, recall in evaluation.model["recall_per_pattern"].items():
        table.add_row(f"recall: {pattern}", _fmt(recall),
                      _fmt(evaluation.baseline["recall_per_pattern"][pattern]))
    return table


def sweep_table(rows: list[dict[str, Any]]) -> Table:
    """One line per seed and share of the bar sweep."""
    table = Table(title="bar sweep (generated data, model fitted without labels)")
    columns = {"seed": "seed", "anomaly_share": "share", "roc_auc": "ROC-AUC", "auprc": "AUPRC",
               "precision_at_1pct": "P@1%", "bar_precision": "bar P", "recall_at_threshold": "recall",
               "baseline_auprc": "baseline AUPRC", "meets_bar": "bar"}
    for title in columns.values():
        table.add_column(title, justify="right")
    for row in rows:
        table.add_row(*(_fmt(row[c]) for c in columns))
    return table


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_report(report: Report, out_dir: Path) -> tuple[list[Path], Path]:
    """Write the plots and the metrics JSON; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = [
        plot_score_distribution(report.evaluation, out_dir / "score_distribution.png"),
        plot_precision_recall(report.evaluation, out_dir / "precision_recall.png"),
        plot_recall_per_pattern(report.evaluation, out_dir / "recall_per_pattern.png"),
    ]
    path = out_dir / "metrics.json"
    path.write_text(json.dumps(json_ready(report.as_dict(plots)), indent=2) + "\n")
    return plots, path
