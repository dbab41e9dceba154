"""The learning check's generator comparison: verifier-rewarded against exact-rewarded GRPO
runs from one SFT start, one pair per GRPO seed, and the fraction of the exact reward's gain
in true validity that the verifier reward reaches (`print_generator`, `gain_figures`).

A pair shares its GRPO seed, so its two runs sample with common random numbers
(`GRPORecipe.reseed_generation`); with several GRPO seeds, a start's gain fraction is the
mean verifier-reward gain over the mean exact-reward gain, so that one lucky or unlucky run
of either reward moves it less. Every run is measured on the same held-out samples.

This module does NOT train or measure anything; it reads `GeneratorRun`s.
"""

from __future__ import annotations

from typing import Any

import _v2_train as train
from _v2_stages import GeneratorRun, GeneratorStart


def pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.1%}"


def num(value: float | None, digits: int = 3) -> str:
    return "  n/a" if value is None else f"{value:.{digits}f}"


def se(share: float, n: int) -> float:
    """The binomial standard error of a share over n draws."""
    return (share * (1 - share) / max(n, 1)) ** 0.5


def by_problem(v: train.Validity) -> dict[str, float]:
    """Each held-out problem's share of valid sampled proofs."""
    valid: dict[str, list[bool]] = {}
    for (problem, _), label in zip(v.proofs, v.labels, strict=True):
        valid.setdefault(problem, []).append(label == 1.0)
    return {p: sum(x) / len(x) for p, x in valid.items()}


def mean_label(v: train.Validity, first: int) -> float:
    """The mean exact label of the first `first` sampled proofs (those the judge scored)."""
    labels = v.labels[:first]
    return sum(labels) / len(labels) if labels else 0.0


def paired_se(before: train.Validity, after: train.Validity) -> float:
    """The standard error of `after.sampled - before.sampled` over problems: both measure the
    same problems, and a problem's difficulty, not its samples, sets most of the error."""
    a, b = by_problem(before), by_problem(after)
    diffs = [b[p] - a[p] for p in a if p in b]
    if len(diffs) < 2:
        return 0.0
    mean = sum(diffs) / len(diffs)
    return (sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1) / len(diffs)) ** 0.5


def same_share(a: train.Validity, b: train.Validity) -> float:
    """The share of sampled held-out proofs two policies wrote letter for letter the same (both
    are sampled with one seed, so this is how far apart their runs drifted)."""
    pairs = list(zip(a.proofs, b.proofs, strict=True))
    return sum(x == y for x, y in pairs) / len(pairs) if pairs else 0.0


def label(g: GeneratorRun) -> str:
    """A run's name in the report: its reward, and its GRPO seed past the first."""
    return f"{g.name} reward" + (f", GRPO seed {g.grpo_seed}" if g.grpo_seed else "")


def pairs(runs: list[GeneratorRun]) -> list[dict[str, GeneratorRun]]:
    """The runs by GRPO seed: [{"verifier": run, "exact": run}, ...]."""
    by: dict[int, dict[str, GeneratorRun]] = {}
    for g in runs:
        by.setdefault(g.grpo_seed, {})[g.name] = g
    return [by[k] for k in sorted(by)]


def fraction(verifier: float, exact: float) -> float | None:
    """The verifier reward's gain over the exact reward's; None when the exact one is <= 0."""
    return verifier / exact if exact > 0 else None


def means(runs: list[GeneratorRun], value) -> dict[str, float]:
    """{reward: the mean of `value(run)` over its runs}."""
    by: dict[str, list[float]] = {}
    for g in runs:
        by.setdefault(g.name, []).append(value(g))
    return {k: sum(v) / len(v) for k, v in by.items()}


def gains(start: train.Validity, runs: list[GeneratorRun], metric: str = "sampled"):
    """{reward: the mean gain in `metric` validity over its runs}."""
    after = means(runs, lambda g: getattr(g.validity, metric))
    return {k: v - getattr(start, metric) for k, v in after.items()}


def gain_figures(start: GeneratorStart, runs: list[GeneratorRun]) -> dict[str, Any]:
    """The summary's figures of the comparison (means over GRPO seeds, and per GRPO seed)."""
    v0, mean, by_seed = start.validity, gains(start.validity, runs), pairs(runs)
    return {
        "gain_fraction": fraction(mean["verifier"], mean["exact"]),
        "gain_fraction_by_grpo_seed": [
            fraction(*(p[k].validity.sampled - v0.sampled for k in ("verifier", "exact")))
            for p in by_seed
        ],
        "validity_start": v0.sampled,
        "validity_after": means(runs, lambda g: g.validity.sampled),
        "validity_gain_se": {k: paired_se(v0, g.validity) for k, g in by_seed[0].items()},
        "runs_alike": [same_share(p["verifier"].validity, p["exact"].validity) for p in by_seed],
        "calibration_start": v0.calibration,
        "calibration_after": means(runs, lambda g: g.validity.calibration),
    }


def print_generator(start: GeneratorStart, runs: list[GeneratorRun], s: Any) -> None:
    print(f"\n== 3. Generator: {len(start.heldout)} held-out problems; true validity by "
          f"check_proof, greedy and {s.validity_samples} samples at T=1 ==")  # fmt: skip
    w = max(len(f"GRPO, {label(g)}") for g in runs)
    print(f"{'':<{w}}  greedy  sampled  mean label  judge - label  reward first->last")
    judged = next((g.judged_start for g in runs if g.name == "exact"), None)
    rows = [("after SFT (start)", start.validity, judged, (None, None))]
    rows += [(f"GRPO, {label(g)}", g.validity, g.judged, g.rewards) for g in runs]
    for name, v, judge, (first, last) in rows:
        rewards = "" if first is None else f"{num(first)} -> {num(last)}"
        over = None if judge is None else judge - mean_label(v, s.judged_proofs)
        print(f"{name:<{w}}  {v.greedy:6.1%}  {v.sampled:6.1%}  {v.sampled_mean:10.3f}"
              f"  {num(over):>13}  {rewards}")  # fmt: skip
    by_seed = pairs(runs)
    for pair in by_seed:
        print_pair(start, pair, len(by_seed) > 1)
    if len(by_seed) > 1:
        for metric in ("sampled", "greedy"):
            g = gains(start.validity, runs, metric)
            print(f"mean over {len(by_seed)} GRPO seeds, {metric} validity gain: verifier "
                  f"reward {g['verifier']:+.1%}, exact reward {g['exact']:+.1%}; fraction "
                  f"reached: {num(fraction(g['verifier'], g['exact']), 2)}")  # fmt: skip
    print_notes(start, runs, s)


def print_pair(start: GeneratorStart, pair: dict[str, GeneratorRun], header: bool) -> None:
    """One GRPO seed's two runs: paired errors, how alike they wrote, the gain fractions."""
    v0, by = start.validity, {k: g.validity for k, g in pair.items()}
    if header:
        print(f"-- the two runs of GRPO seed {pair['exact'].grpo_seed}:")
    print(f"(paired standard errors over the {len(start.heldout)} problems: the sampled gain "
          f"with the verifier reward {paired_se(v0, by['verifier']):.1%}, with the exact "
          f"reward {paired_se(v0, by['exact']):.1%}; the two runs' difference "
          f"{paired_se(by['exact'], by['verifier']):.1%})")  # fmt: skip
    print(f"sampled held-out proofs written letter for letter alike: the two runs "
          f"{same_share(by['exact'], by['verifier']):.1%}; each against the start: verifier "
          f"reward {same_share(v0, by['verifier']):.1%}, exact reward "
          f"{same_share(v0, by['exact']):.1%}")  # fmt: skip
    for metric in ("sampled", "greedy"):
        gain = {k: getattr(v, metric) - getattr(v0, metric) for k, v in by.items()}
        share = fraction(gain["verifier"], gain["exact"])
        text = (
            "undefined (the exact-reward run gained nothing)" if share is None else f"{share:.2f}"
        )
        print(f"{metric} validity gain: verifier reward {gain['verifier']:+.1%}, exact "
              f"reward {gain['exact']:+.1%}; fraction of the exact-reward gain reached: "
              f"{text}")  # fmt: skip


def print_notes(start: GeneratorStart, runs: list[GeneratorRun], s: Any) -> None:
    v0 = start.validity
    n_greedy, n_sampled = len(start.heldout), len(v0.proofs)
    print(f"(sampling error at the start, one standard error: greedy "
          f"{se(v0.greedy, n_greedy):.1%} over {n_greedy} proofs, sampled "
          f"{se(v0.sampled, n_sampled):.1%} over {n_sampled}; a gain is a "
          "difference of two such figures)")  # fmt: skip
    print(f"(mean label: mean exact label of the sampled proofs; judge - label: the trained "
          f"verifier's mean score of the first {s.judged_proofs} less their mean label;\n "
          "reward: TRL's logged mean training reward, first and last 3 steps)")  # fmt: skip
    calib = ", ".join(f"{label(g)} {g.validity.calibration:.1%}" for g in runs)
    print(f"self-evaluation calibration (boxed self-score = exact label, sampled proofs): "
          f"start {v0.calibration:.1%}; after GRPO: {calib}")  # fmt: skip
