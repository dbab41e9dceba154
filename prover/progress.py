"""Progress display for long stages: rich bars on stderr, or nothing for library use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Update = Callable[[int, int], None]  # (done, total)


class Reporter:
    """No-op reporter: the library default."""

    @contextmanager
    def stage(self, name: str, total: int) -> Iterator[Update]:
        yield lambda done, total: None

    def log(self, message: str) -> None:
        pass


class RichReporter(Reporter):
    """One transient progress bar per stage, plus log lines, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)

    @contextmanager
    def stage(self, name: str, total: int) -> Iterator[Update]:
        if not self.console.is_terminal:  # no bar in logs and pipes, only the log lines
            yield lambda done, total: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=self.console, transient=True) as bar:
            task = bar.add_task(name, total=total)
            yield lambda done, total: bar.update(task, completed=done, total=total)

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)
