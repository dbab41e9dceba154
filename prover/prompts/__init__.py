"""Prompt templates, loaded by name, with `{{field}}` placeholders.

The shipped templates live in `templates/*.txt`; a user directory with files of the same
names overrides them one by one. A directory written by `prover templates import` (it holds a
`manifest.json`) is a complete set and may carry the published refinement layout
(`prover.prompts.layout`). The format phrases the parsers check are defined here, so
that templates and parsers cannot drift apart. This module does not call models or parse
their output (see `prover.parse`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from prover.errors import InputError
from prover.prompts.layout import PROJECT, PUBLISHED, published_attempts, read_manifest

# Each template and the fields it may use.
FIELDS = {
    "proof_generation": {"problem"},
    "proof_verification": {"problem", "proof"},
    "meta_verification": {"problem", "proof", "analysis"},
    "proof_refinement": {"instruction", "attempts"},
}
NAMES = tuple(FIELDS)

# Format phrases (R_format checks them; the templates ask for them verbatim).
SOLUTION_HEADER = "## Solution"
SELF_EVAL_HEADER = "## Self Evaluation"
EVAL_OPENING = "Here is my evaluation of the solution:"
EVAL_CLOSING = "Based on my evaluation, the final overall score should be:"
META_OPENING = "Here is my analysis of the evaluation:"
META_CLOSING = "Based on my analysis, I rate the evaluation as:"

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render(template: str, **values: str) -> str:
    """Fill `{{name}}` placeholders in one pass; a missing value is an error, not a blank."""

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template needs a value for {{{{{key}}}}}")
        return values[key]

    return PLACEHOLDER.sub(fill, template)


def load_template(name: str, template_dir: str | Path | None = None) -> str:
    """The template `name`, from `template_dir/name.txt` if present, else the shipped one."""
    if name not in NAMES:
        raise InputError(f"unknown template {name!r}; templates are: {', '.join(NAMES)}")
    if template_dir is not None:
        path = Path(template_dir) / f"{name}.txt"
        if path.is_file():
            return check_fields(name, _read_user_template(path), path)
    return resources.files(__package__).joinpath(f"templates/{name}.txt").read_text("utf-8")


def _read_user_template(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"template {path} is not UTF-8 text") from exc


def check_fields(name: str, template: str, path: Path | str) -> str:
    """A template may only use its own fields: a typo would otherwise fail mid-run."""
    unknown = sorted(set(PLACEHOLDER.findall(template)) - FIELDS[name])
    if unknown:
        fields = ", ".join("{{" + f + "}}" for f in sorted(FIELDS[name]))
        raise InputError(
            f"template {path} uses unknown field {{{{{unknown[0]}}}}}; it has: {fields}"
        )
    return template


@dataclass(frozen=True)
class Templates:
    """The four templates of the loop; build with `Templates.load(dir)`.

    `layout` is how the refinement prompt lays out earlier proofs (`prover.prompts.layout`)."""

    proof_generation: str
    proof_verification: str
    meta_verification: str
    proof_refinement: str
    layout: str = field(default=PROJECT, repr=False)

    @classmethod
    def load(cls, template_dir: str | Path | None = None) -> Templates:
        if template_dir is None:
            return cls(*(load_template(name) for name in NAMES))
        if not Path(template_dir).is_dir():
            raise InputError(
                f"template directory {template_dir} does not exist "
                "(`prover templates list` shows the named sets)"
            )
        manifest = read_manifest(template_dir)
        if manifest is not None:
            _check_complete(Path(template_dir))
        layout = manifest.get("layout", PROJECT) if manifest else PROJECT
        return cls(*(load_template(name, template_dir) for name in NAMES), layout=layout)

    def digest(self) -> str:
        """A short hash of the four texts (and of a layout other than the project's): a
        resumed run must use the same templates."""
        import hashlib

        key = repr(self) if self.layout == PROJECT else f"{self!r} layout={self.layout}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def generation(self, problem: str) -> str:
        return render(self.proof_generation, problem=problem.strip())

    def verification(self, problem: str, proof: str) -> str:
        return render(self.proof_verification, problem=problem.strip(), proof=proof.strip())

    def meta(self, problem: str, proof: str, analysis: str) -> str:
        return render(
            self.meta_verification,
            problem=problem.strip(),
            proof=proof.strip(),
            analysis=analysis.strip(),
        )

    def refinement(self, problem: str, attempts: list[tuple[str, list[str]]]) -> str:
        """`attempts` is [(proof, [analysis, ...]), ...], analyses already chosen and ordered."""
        instruction = self.generation(problem).strip()
        if self.layout == PUBLISHED:
            return render(
                self.proof_refinement,
                instruction=instruction,
                attempts=published_attempts(attempts),
            )
        blocks = []
        for i, (proof, analyses) in enumerate(attempts):
            evals = [
                f"=== Evaluation {j} of Solution {i} ===\n{a.strip()}"
                for j, a in enumerate(analyses)
            ]
            blocks.append("\n\n".join([f"--- Solution {i} ---\n{proof.strip()}", *evals]))
        return render(
            self.proof_refinement, instruction=instruction, attempts="\n\n\n".join(blocks)
        )


def _check_complete(template_dir: Path) -> None:
    """An imported set is whole: a missing file would silently mix in a shipped template."""
    for name in NAMES:
        if not (template_dir / f"{name}.txt").is_file():
            raise InputError(f"template set {template_dir} lacks {name}.txt; import it again")
