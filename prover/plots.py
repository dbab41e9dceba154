"""PNG plots of a scoring summary (`prover score --report DIR`), drawn with matplotlib (the
`plots` extra, imported lazily). This module does not compute statistics (see
`prover.agreement`)."""

from __future__ import annotations

from pathlib import Path

from prover.agreement import comparable
from prover.errors import require


def _pyplot():
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")  # files only; never a window
    return require("matplotlib.pyplot", "plots")


def write_plots(records: list[dict], summary: dict, out_dir: Path) -> list[Path]:
    """Score histogram, verifier vs human, calibration and agreement vs V; the files written."""
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    drawers = {
        "score_histogram.png": lambda ax: _histogram(ax, records),
        "verifier_vs_human.png": lambda ax: _scatter(ax, records),
        "calibration.png": lambda ax: _calibration(ax, summary["calibration"]),
        "agreement_vs_v.png": lambda ax: _by_v(ax, summary["by_verifications"]),
    }
    written = []
    for name, draw in drawers.items():
        fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
        draw(ax)
        fig.tight_layout()
        fig.savefig(out_dir / name)
        plt.close(fig)
        written.append(out_dir / name)
    return written


def _histogram(ax, records: list[dict]) -> None:
    means = [r["mean_score"] for r in records if r["mean_score"] is not None]
    ax.hist(means, bins=[i / 8 for i in range(9)], color="tab:blue", edgecolor="white")
    ax.set(xlabel="mean verifier score", ylabel="proofs", title=f"Scores ({len(means)} proofs)")


def _scatter(ax, records: list[dict]) -> None:
    pairs = comparable(records)
    ax.scatter([r["human"] for r in pairs], [r["mean_score"] for r in pairs], alpha=0.6)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle="--")
    ax.set(
        xlabel="human grade (normalized)",
        ylabel="mean verifier score",
        title="Verifier vs human",
        xlim=(-0.05, 1.05),
        ylim=(-0.05, 1.05),
    )


def _calibration(ax, rows: list[dict]) -> None:
    filled = [r for r in rows if r["n"]]
    ax.plot([r["mean_verifier"] for r in filled], [r["mean_human"] for r in filled], marker="o")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle="--")
    ax.set(
        xlabel="mean verifier score (bin)",
        ylabel="mean human grade",
        title="Calibration",
        xlim=(0, 1),
        ylim=(0, 1),
    )


def _by_v(ax, rows: list[dict]) -> None:
    vs = [r["v"] for r in rows]
    accuracy = [r["agreement"].get("accuracy") for r in rows]
    ax.plot(
        vs,
        [a if a is not None else float("nan") for a in accuracy],
        marker="o",
        label="accuracy vs human",
    )
    variance = [r["variance"] if r["variance"] is not None else float("nan") for r in rows]
    ax.plot(vs, variance, marker="s", label="variance of mean score")
    ax.set(xlabel="verifications V", title="Agreement against V")
    ax.legend()
