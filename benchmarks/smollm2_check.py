"""SmolLM2-135M-Instruct (`--model smollm2`) measured honestly through the real commands:

- load: seconds to resolve and load the cached conversion (converting first if needed), twice;
- solve: `prover solve datasets/examples/easy_sum.tex --model smollm2 -P 2 -V 2 -R 1`, its exit
  code and wall time;
- format: the share of its proofs that end with a parsable `## Self Evaluation` score, and of
  its verifications (solve's and score's) that hold a boxed score;
- eval: `prover eval gym:basic_arithmetic:N` (CoT) accuracy, greedy by default;
- score: `prover score` on the shipped DeepSeekMath-V2 proof set (tests/data/deepseek-math-v2:
  the first two records of each published file), agreement with the human grades, against
  the best constant predictor on the same proofs (the majority pass/fail class for accuracy,
  the median grade for MAE) and the share of proofs that got any score; and on every graded
  proof with an unscored proof counted as 0, against the constant on the same proofs.

    python benchmarks/smollm2_check.py [--count 100] [--max-tokens 256] [--parts load,solve,...]

Each command runs as its own process (model load included in its time), offline. On 2 busy
CPU cores (1 torch thread) the defaults took about 32 minutes, the score part 22 of them: its
verification prompts hold 1-10k tokens (one exceeds the 8192-token context). Figures go to
stdout as a table and to OUT/results.json with the machine's load average, so a reader can tell
a busy machine from a slow model. This script does NOT tune prompts or sampling for the model,
and a part's failure is reported in the table, not retried.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
EASY = ROOT / "datasets" / "examples" / "easy_sum.tex"
PROOF_SET = ROOT / "tests" / "data" / "deepseek-math-v2"
PARTS = ("load", "solve", "eval", "score")
OUTPUTS = {"score": "scores.jsonl"}  # what each part writes under --out (default: its name)


def run_cli(args: list[str], timeout: float) -> tuple[int, float, str]:
    """(exit code, wall seconds, last stderr lines) of `prover ARGS` in a fresh process."""
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "prover.cli", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return 124, time.monotonic() - start, f"timed out after {timeout:.0f} s"
    tail = "\n".join(done.stderr.strip().splitlines()[-3:])
    return done.returncode, time.monotonic() - start, tail


def load_times() -> dict:
    """Seconds for two loads of `smollm2` in this process, after torch is imported."""
    import torch  # noqa: F401  (import time is not load time)

    from prover.backends import make_backend
    from prover.cli.options import quiet_transformers

    quiet_transformers()
    seconds = []
    for _ in range(2):
        start = time.monotonic()
        backend = make_backend("hf", "smollm2", device="cpu")
        seconds.append(round(time.monotonic() - start, 2))
        del backend
    return {"load_s": seconds}


def read_jsonl(path: Path) -> list[dict]:
    from prover.rundir import read_jsonl as read

    return read(path)


def share(hits: int, total: int) -> dict:
    return {"n": total, "share": round(hits / total, 3) if total else None}


def solve_part(out: Path, args: argparse.Namespace) -> dict:
    run = out / "solve"
    cli = [
        "solve",
        str(EASY),
        "--model",
        "smollm2",
        "-P",
        "2",
        "-V",
        "2",
        "-R",
        "1",
        "--max-tokens",
        str(args.max_tokens),
        "--seed",
        str(args.seed),
        "--out",
        str(run),
        "--format",
        "json",
    ]
    code, seconds, tail = run_cli(cli, args.timeout)
    proofs = read_jsonl(run / "proofs.jsonl")
    verifications = read_jsonl(run / "verifications.jsonl")
    return {
        "command": "prover " + " ".join(cli),
        "exit": code,
        "seconds": round(seconds, 1),
        "stderr_tail": tail,
        "proof_format": share(sum(p["self_score"] is not None for p in proofs), len(proofs)),
        "verification_format": share(
            sum(v["score"] is not None for v in verifications), len(verifications)
        ),
        "proof_reasons": reasons(proofs),
        "verification_reasons": reasons(verifications),
    }


def reasons(records: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        key = record.get("reason") or "ok"
        counts[key] = counts.get(key, 0) + 1
    return counts


def eval_part(out: Path, args: argparse.Namespace) -> dict:
    run = out / "eval"
    data = f"gym:basic_arithmetic:{args.count}"
    cli = [
        "eval",
        data,
        "--model",
        "smollm2",
        "--max-tokens",
        str(args.max_tokens),
        "--temperature",
        str(args.eval_temperature),
        "--seed",
        str(args.seed),
        "--workers",
        "1",
        "--out",
        str(run),
    ]
    code, seconds, tail = run_cli(cli, args.timeout)
    result = {"command": "prover " + " ".join(cli), "exit": code, "seconds": round(seconds, 1)}
    if code != 0:
        return result | {"stderr_tail": tail}
    overall = json.loads((run / "metrics.json").read_text())["metrics"]["overall"]
    samples = read_jsonl(run / "samples.jsonl")
    boxed = sum("\\boxed{" in r["text"] for r in samples)
    return result | {
        "items": overall["items"],
        "accuracy": overall["accuracy"],
        "math_verify_accuracy": overall.get("math_verify_accuracy"),
        "boxed": share(boxed, len(samples)),
        "cut_at_limit": share(sum(r["finish_reason"] == "length" for r in samples), len(samples)),
    }


def score_part(out: Path, args: argparse.Namespace) -> dict:
    scores = out / "scores.jsonl"
    files = [str(p) for p in sorted(PROOF_SET.glob("*.jsonl"))]
    cli = [
        "score",
        *files,
        "--model",
        "smollm2",
        "-V",
        str(args.verifications),
        "--max-tokens",
        str(args.max_tokens),
        "--seed",
        str(args.seed),
        "--out",
        str(scores),
    ]
    cli += ["--limit", str(args.score_limit)] if args.score_limit else []
    code, seconds, tail = run_cli(cli, args.timeout)
    result = {"command": "prover " + " ".join(cli), "exit": code, "seconds": round(seconds, 1)}
    if code != 0:
        return result | {"stderr_tail": tail}
    records = read_jsonl(scores)
    verdicts = [v for r in records for v in r["verifications"]]
    summary = json.loads(scores.with_suffix(".summary.json").read_text())
    return result | {
        "proofs": len(records),
        "scored": summary["scored"],
        "verification_format": share(sum(v["score"] is not None for v in verdicts), len(verdicts)),
        "agreement": pick(summary["agreement"]),
        "unscored_as_zero": unscored_as_zero(records, summary["threshold"]),
        "constant_baseline": constant_baseline(records, summary["threshold"]),
    }


def unscored_as_zero(records: list[dict], threshold: float) -> dict:
    """The verifier's agreement on every graded proof, a proof it gave no score counting as
    0 (a failing verdict): comparable with the constant baseline `on_all`."""
    pairs = [(r["mean_score"] or 0.0, r["human"]) for r in records if r["human"] is not None]
    if not pairs:
        return {"n": 0}
    return {
        "n": len(pairs),
        "accuracy": statistics.fmean((v >= threshold) == (h >= threshold) for v, h in pairs),
        "mae": statistics.fmean(abs(v - h) for v, h in pairs),
    }


def pick(agreement: dict) -> dict:
    keys = ("n", "accuracy", "mae", "pearson", "spearman", "mean_verifier", "mean_human")
    return {k: agreement.get(k) for k in keys}


def constant_baseline(records: list[dict], threshold: float) -> dict:
    """The best constant predictor on the proofs the verifier scored (so the two compare on
    the same proofs), and on all graded proofs."""
    scored = [r["human"] for r in records if r["human"] is not None and r["mean_score"] is not None]
    graded = [r["human"] for r in records if r["human"] is not None]
    return {"on_scored": constant(scored, threshold), "on_all": constant(graded, threshold)}


def constant(human: list[float], threshold: float) -> dict:
    if not human:
        return {"n": 0}
    passed = sum(h >= threshold for h in human)
    median = statistics.median(human)
    return {
        "n": len(human),
        "accuracy": max(passed, len(human) - passed) / len(human),
        "mae": statistics.fmean(abs(h - median) for h in human),
    }


def table(results: dict) -> str:
    """The figures a reader compares, one line each."""
    lines = ["| part | figure |", "| --- | --- |"]
    for part, value in results.items():
        if part in ("machine", "settings"):
            continue
        lines.extend(f"| {part} | {line} |" for line in summary_lines(part, value))
    return "\n".join(lines)


def summary_lines(part: str, value: dict) -> list[str]:
    if part == "load":
        return [f"loads: {value['load_s']} s"]
    head = f"exit {value.get('exit')}, {value.get('seconds')} s"
    if part == "solve":
        pf, vf = value["proof_format"], value["verification_format"]
        return [
            head,
            f"proofs in format: {pf['share']} of {pf['n']}",
            f"verifications in format: {vf['share']} of {vf['n']}",
        ]
    if part == "eval" and "accuracy" in value:
        found = value["boxed"]
        return [
            head,
            f"accuracy {value['accuracy']:.3f} on {value['items']} items "
            f"(\\boxed{{}} in {found['share']} of {found['n']})",
        ]
    if part == "score" and "agreement" in value:
        a, b = value["agreement"], value["constant_baseline"]["on_scored"]
        z, c = value["unscored_as_zero"], value["constant_baseline"]["on_all"]
        vf = value["verification_format"]
        return [
            head,
            f"scored {value['scored']} of {value['proofs']} proofs; verifications "
            f"in format {vf['share']} of {vf['n']}",
            f"verifier: accuracy {a.get('accuracy')}, MAE {a.get('mae')}, n {a.get('n')}",
            f"constant: accuracy {b.get('accuracy')}, MAE {b.get('mae')}, n {b.get('n')}",
            f"verifier, unscored as 0: accuracy {z.get('accuracy')}, MAE {z.get('mae')}, "
            f"n {z.get('n')}",
            f"constant on all graded: accuracy {c.get('accuracy')}, MAE {c.get('mae')}, "
            f"n {c.get('n')}",
        ]
    return [head + f": {value.get('stderr_tail', '')}"]


def machine() -> dict:
    import torch
    import transformers

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "loadavg": os.getloadavg(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"Any of {', '.join(PARTS)}.")
    parser.add_argument("--count", type=int, default=100, help="basic_arithmetic items.")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--eval-temperature", type=float, default=0.0, help="0: greedy.")
    parser.add_argument("--verifications", type=int, default=1, help="-V of prover score.")
    parser.add_argument("--score-limit", type=int, default=None, help="Score the first N.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800, help="Seconds per command.")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "smollm2-check")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        sys.exit(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine(), "settings": {k: str(v) for k, v in vars(args).items()}}
    steps = {
        "load": lambda: load_times(),
        "solve": lambda: solve_part(args.out, args),
        "eval": lambda: eval_part(args.out, args),
        "score": lambda: score_part(args.out, args),
    }
    taken = [p for p in parts if (args.out / OUTPUTS.get(p, p)).exists()]
    if taken:
        sys.exit(f"{args.out} already holds a {', '.join(taken)} run; give a new --out")
    for part in parts:
        results[part] = steps[part]()
        print(f"{part} done", file=sys.stderr, flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    print(f"\nresults: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
