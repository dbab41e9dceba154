"""`prover templates`: list the prompt template sets, or import DeepSeekMath-V2's published
ones from the user's copy of its repository (parsed, never run)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def templates() -> None:
    """Prompt template sets: the shipped one and imported ones (use them with --templates)."""


@templates.command("import")
@click.argument("path", metavar="PATH", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory to write the set into (default: $PROVER_TEMPLATES/deepseek-math-v2, "
    "else templates/deepseek-math-v2).",
)
@click.option("--force", is_flag=True, help="Replace the templates in a non-empty --out.")
def import_command(path: Path, out: Path | None, force: bool) -> None:
    """Convert the published prompts in PATH (DeepSeek-Math-V2's inference/math_templates.py,
    or a copy of that repository) into a template set for --templates."""
    from prover.prompts import Templates
    from prover.prompts.published import import_published, write_set
    from prover.prompts.sets import DEFAULT_IMPORT, templates_root

    imported = import_published(path)  # every check before anything is written
    out = out or templates_root() / DEFAULT_IMPORT
    write_set(imported, out, force)
    digest = Templates.load(out).digest()
    click.echo(f"imported 4 templates from {imported.source} into {out} (digest {digest})")
    named = out.name if out.parent == templates_root() else str(out)
    click.echo(f"use them with: --templates {named}")


@templates.command("list")
@click.argument("dirs", metavar="[DIR]...", nargs=-1, type=click.Path(path_type=Path))
def list_command(dirs: tuple[Path, ...]) -> None:
    """Show the shipped set, the sets under $PROVER_TEMPLATES (else templates/) and any DIRs,
    each with the digest a run directory records."""
    from prover.prompts.sets import list_sets

    rows = list_sets(dirs)
    width = max(len(s.name) for s in rows)
    for s in rows:
        click.echo(f"{s.name:<{width}}  {s.digest or '-':<16}  {s.description}")
