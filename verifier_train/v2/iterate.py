"""The DeepSeekMath-V2 iteration driver: verifier -> generator -> new proofs -> labels -> more
verifier data, round after round (`prover iterate RECIPE.yaml`).

Round r lives in `OUT/round-r/`:
1. `verifier/`: verifier GRPO on the labelled data so far (the recipe's files plus every
   earlier round's auto-labels), from the previous round's verifier (round 0: the model);
2. `generator/`: generator GRPO initialised from this round's verifier, rewarded by it;
3. `proofs.jsonl`: `proofs_per_problem` new proofs per problem from the new generator
   (appended as they finish; a resumed round samples only what is missing);
4. `labels.jsonl` (+ `labels.run/`): auto-labels of those proofs by scaled verification with
   this round's verifier (`verifier_train.v2.autolabel`, resumable);
5. the labelled proofs join the verifier data of the next round. With `hard_only`, only the
   proofs of hard problems join: problems where some new proof was labelled below 1 (proofs
   of problems the generator already solves every time teach the verifier little).
`OUT/state.json` lists the finished steps; a re-run continues at the first unfinished one,
and each trainer resumes from its last checkpoint. Each round's models, data and metrics
(`*/metrics.jsonl`) stay in its folder.

This module does NOT parse YAML or command lines (see `prover.cli.iterate`), choose n, m, k
(the paper does not publish them), or train the meta-verifier separately (pass meta data to
train one model on both tasks, as the paper does).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.rundir import read_jsonl, write_json

STEPS = ("verifier", "generator", "proofs", "labels")


@dataclass(frozen=True)
class IterateConfig:
    """Round settings (the paper publishes none of these numbers)."""

    rounds: int = 2
    proofs_per_problem: int = 4
    hard_only: bool = True
    label_analyses: int = 4  # n
    label_meta: int = 3  # m
    label_min_valid: int = 2  # k
    max_tokens: int = 2048
    temperature: float = 1.0
    backend: str = "hf"  # sampling and labelling backend (hf or vllm)
    seed: int = 0  # of sampling and labelling in round 0; round r uses seed + r


@dataclass(frozen=True)
class Stages:
    """The work of each step, injected (the CLI builds real ones, tests may build small ones).

    train_verifier(init, data_rows, out) -> final path; train_generator(init, verifier, out)
    -> final path; sample(generator, out_path, round) writes proof records; label(verifier,
    proofs_path, out_path, round) -> label records. `round` (0, 1, ...) varies the sampling
    seed, so that a round whose generator moved little does not redraw the last round's
    proofs."""

    train_verifier: Callable[[str, list[dict], Path], str]
    train_generator: Callable[[str, str, Path], str]
    sample: Callable[[str, Path, int], None]
    label: Callable[[str, Path, Path, int], list[dict]]


@dataclass
class State:
    """What is finished: per round, the steps done and their outputs."""

    rounds: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> State:
        return cls(json.loads(path.read_text())["rounds"]) if path.exists() else cls()

    def round(self, index: int) -> dict:
        while len(self.rounds) <= index:
            self.rounds.append({"round": len(self.rounds), "done": {}})
        return self.rounds[index]


def labelled_rows(labels: Sequence[dict], hard_only: bool) -> list[dict]:
    """Verifier rows {problem, proof, score} from auto-labels; with `hard_only`, only the
    proofs of problems that have a proof labelled below 1."""
    done = [r for r in labels if r.get("status") == "labelled" and r.get("label") is not None]
    hard = {r["problem"] for r in done if r["label"] < 1}
    keep = [r for r in done if r["problem"] in hard] if hard_only else done
    return [{"problem": r["problem"], "proof": r["proof"], "score": r["label"]} for r in keep]


class Iterate:
    """Runs the rounds of the V2 loop into `out`, resuming from `out/state.json`."""

    def __init__(self, out: Path, config: IterateConfig, stages: Stages):
        self.out, self.config, self.stages = out, config, stages
        self.state = State.load(out / "state.json")

    def _save(self) -> None:
        write_json(self.out / "state.json", {"rounds": self.state.rounds})

    def _step(self, index: int, name: str, work: Callable[[], Any]) -> Any:
        """Run `work` unless round `index` already finished step `name`; record its result."""
        done = self.state.round(index)["done"]
        if name not in done:
            done[name] = work()
            self._save()
        return done[name]

    def run(self, model: str, verifier_data: list[dict], on_round: Callable | None = None):
        """All rounds from `model` on the initial `verifier_data`; returns the state rounds."""
        verifier = model
        data = list(verifier_data)
        for index in range(self.config.rounds):
            folder = self.out / f"round-{index}"
            verifier, added = self._round(index, folder, verifier, data)
            data += added
            if on_round:
                on_round(self.state.round(index))
        return self.state.rounds

    def _round(self, index: int, folder: Path, init: str, data: list[dict]):
        s = self.stages
        verifier = self._step(
            index, "verifier", lambda: s.train_verifier(init, data, folder / "verifier")
        )
        # The generator starts from this round's verifier (DeepSeekMath-V2 sec. 2.2).
        generator = self._step(
            index, "generator", lambda: s.train_generator(verifier, verifier, folder / "generator")
        )
        proofs, labels = folder / "proofs.jsonl", folder / "labels.jsonl"
        self._step(index, "proofs", lambda: _then(s.sample(generator, proofs, index), str(proofs)))
        self._step(
            index, "labels", lambda: _then(s.label(verifier, proofs, labels, index), str(labels))
        )
        return verifier, labelled_rows(read_jsonl(labels), self.config.hard_only)


def _then(_done: Any, value: str) -> str:
    """`value`, after the call in the first argument has run (a step's recorded output)."""
    return value
