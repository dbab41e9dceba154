"""Autoformalization and formal proof attempts: the model states a problem as a Lean theorem
(`lean_formalize.txt`), the statement must elaborate with `sorry`, then the model writes Lean
proofs (`lean_prove.txt`, with the informal proof when there is one) that a `Checker` judges.

`cross_check(problem, proof, backend, checker)` is the whole chain for one problem and returns
a `CrossCheck` record; `--lean` in `prover solve`/`score` can call it per best proof. A formal
proof is always checked against the statement that elaborated (its own signature is replaced),
so a model cannot prove an easier claim; whether that statement is faithful to the problem is
NOT checked here (that is what the informal verifier is for).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

from prover.backends import Backend, Sampling, user_chat
from prover.errors import InputError
from prover.lean.outcomes import LeanErrors, LeanVerdict, Proved, to_record
from prover.lean.source import Statement, extract_code, parse_statement, proof_body
from prover.prompts import PLACEHOLDER, render

TEMPLATE_FIELDS = {
    "lean_formalize": {"problem"},
    "lean_prove": {"problem", "informal_proof", "statement"},
}
NO_INFORMAL_PROOF = "(none)"


class Checker(Protocol):
    """Anything that judges Lean source: `ReplProcesses`, `DojoChecker`."""

    def check(self, source: str, theorem: str | None = None) -> LeanVerdict: ...


@dataclass(frozen=True)
class LeanTemplates:
    """The two prompts of the chain; `load(dir)` lets files of the same names override them."""

    formalize: str
    prove: str

    @classmethod
    def load(cls, template_dir: str | Path | None = None) -> LeanTemplates:
        return cls(*(_template(name, template_dir) for name in TEMPLATE_FIELDS))

    def formalization(self, problem: str) -> str:
        return render(self.formalize, problem=problem.strip())

    def proof(self, problem: str, statement: Statement, informal_proof: str | None) -> str:
        return render(
            self.prove,
            problem=problem.strip(),
            informal_proof=(informal_proof or "").strip() or NO_INFORMAL_PROOF,
            statement=statement.source.strip(),
        )


def _template(name: str, template_dir: str | Path | None) -> str:
    path = Path(template_dir) / f"{name}.txt" if template_dir is not None else None
    if path is None or not path.is_file():
        shipped = resources.files("prover.prompts").joinpath(f"templates/{name}.txt")
        return shipped.read_text("utf-8")
    text = path.read_text(encoding="utf-8")
    unknown = sorted(set(PLACEHOLDER.findall(text)) - TEMPLATE_FIELDS[name])
    if unknown:
        raise InputError(f"template {path} uses unknown field {{{{{unknown[0]}}}}}")
    return text


@dataclass(frozen=True)
class CrossCheck:
    """The chain's result. `stage` is where it stopped: "formalize" (no Lean theorem in the
    model's answer), "statement" (the statement does not elaborate) or "proof"."""

    stage: str
    verdict: LeanVerdict | None
    statement: str | None = None
    lean_proof: str | None = None
    note: str = ""

    @property
    def proved(self) -> bool:
        return isinstance(self.verdict, Proved)

    def to_record(self) -> dict:
        verdict = to_record(self.verdict) if self.verdict is not None else {"lean": "unformalized"}
        return {
            "stage": self.stage,
            **verdict,
            "statement": self.statement,
            "lean_proof": self.lean_proof,
            "note": self.note,
        }


def formalize(
    problem: str, backend: Backend, checker: Checker, templates: LeanTemplates, sampling: Sampling
) -> Statement | CrossCheck:
    """The model's formal statement, checked to elaborate with `sorry`; or the failed chain."""
    answer = _generate(backend, templates.formalization(problem), 1, sampling)[0]
    code = extract_code(answer)
    statement = parse_statement(code) if code else None
    if statement is None:
        return CrossCheck("formalize", None, note="no Lean theorem in the model's answer")
    verdict = checker.check(statement.source)
    if isinstance(verdict, LeanErrors) and verdict.only_sorry:
        return statement
    note = "the statement must elaborate with only `sorry` left"
    return CrossCheck("statement", verdict, statement=statement.source, note=note)


def prove(
    problem: str,
    statement: Statement,
    informal_proof: str | None,
    backend: Backend,
    checker: Checker,
    templates: LeanTemplates,
    sampling: Sampling,
    attempts: int = 1,
) -> CrossCheck:
    """`attempts` formal proofs sampled at once and checked in turn; the first that Lean
    accepts, else the first attempt's verdict."""
    prompt = templates.proof(problem, statement, informal_proof)
    results = []
    for answer in _generate(backend, prompt, attempts, sampling):
        code = extract_code(answer) or answer
        source = statement.with_body(proof_body(code))
        verdict = checker.check(source, theorem=statement.name)
        results.append(CrossCheck("proof", verdict, statement.source, source))
        if isinstance(verdict, Proved):
            return results[-1]
    return results[0]


def cross_check(
    problem: str,
    proof: str | None,
    backend: Backend,
    checker: Checker,
    *,
    templates: LeanTemplates | None = None,
    sampling: Sampling | None = None,
    attempts: int = 1,
) -> CrossCheck:
    """Formalize `problem` with `backend`, then try to prove the formal statement in Lean,
    guided by the informal `proof` (None or "" for none)."""
    templates = templates or LeanTemplates.load()
    sampling = sampling or Sampling()
    statement = formalize(problem, backend, checker, templates, sampling)
    if isinstance(statement, CrossCheck):
        return statement
    return prove(problem, statement, proof, backend, checker, templates, sampling, attempts)


def _generate(backend: Backend, prompt: str, n: int, sampling: Sampling) -> list[str]:
    return [c.text for c in backend.generate([user_chat(prompt)], n=n, sampling=sampling)[0]]
