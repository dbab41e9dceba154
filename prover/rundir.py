"""A run directory of append-only JSONL files that survives kill -9.

Each stage appends its records in one write followed by fsync, and readers drop a torn last
line, so a resumed run sees exactly the work that finished. This module does not decide what
to recompute (the loop derives that from the records).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from prover.errors import InputError

RUN_FILE = "run.json"


def read_jsonl(path: Path) -> list[dict]:
    """Every complete record; a torn final line (from a kill mid-write) is ignored."""
    if not path.exists():
        return []
    # split on "\n" only: model text may hold U+2028 and friends, which splitlines() breaks on
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines):
                break  # a torn last write; its stage is completed on resume
            raise InputError(f"{path} line {number} is corrupt: {exc.msg}") from exc
    return records


def repair_tail(path: Path) -> None:
    """Cut a partial last line so the next append starts on a fresh line."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)


def append_jsonl(path: Path, records: list[dict]) -> None:
    """Append records in one write + fsync: they land together or not at all."""
    if not records:
        return
    blob = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(blob)
        fh.flush()
        os.fsync(fh.fileno())


def replace_text(path: Path, text: str) -> None:
    """Atomic replace: write a temporary file, fsync it, rename it over the target, so a kill
    leaves the old file or the new one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: dict) -> None:
    """`obj` as indented JSON, replacing the file atomically."""
    replace_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_jsonl(path: Path, records: list[dict]) -> None:
    """`records` as JSON Lines, replacing the file atomically (`append_jsonl` adds to one)."""
    replace_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


class RunDir:
    """The files of one run: `run.json` (settings) and one JSONL file per record kind."""

    def __init__(self, path: str | Path, fingerprint: dict, resume: bool = False):
        """Check that the directory can hold this run; nothing is written until `start`, so a
        run that fails before its first record (say, the model will not load) leaves nothing."""
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.started = False
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"run directory {self.path} is a file")
        if (self.path / RUN_FILE).exists():
            if not resume:
                raise InputError(
                    f"run directory {self.path} already holds a run; pass --resume to continue "
                    "it or choose another --out"
                )
            self._check(fingerprint)

    def start(self) -> None:
        """Create the directory and its `run.json`, or mend the torn tails of a resumed one.
        Called by the first write."""
        if self.started:
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create run directory {self.path}: {exc.strerror}") from exc
        if not (self.path / RUN_FILE).exists():
            write_json(self.path / RUN_FILE, self.fingerprint)
        for name in self.path.glob("*.jsonl"):
            repair_tail(name)
        self.started = True

    def _check(self, fingerprint: dict) -> None:
        stored = json.loads((self.path / RUN_FILE).read_text(encoding="utf-8"))
        changed = sorted(k for k in fingerprint if stored.get(k) != fingerprint[k])
        if changed:
            raise InputError(
                f"cannot resume {self.path}: it was started with different {', '.join(changed)}; "
                "use the same options or another --out"
            )

    def records(self, kind: str) -> list[dict]:
        return read_jsonl(self.path / f"{kind}.jsonl")

    def append(self, kind: str, records: list[dict]) -> None:
        """A batch of records in one write + fsync: they land together or not at all."""
        if records:
            self.start()
            append_jsonl(self.path / f"{kind}.jsonl", records)

    def write(self, name: str, obj: dict) -> None:
        self.start()
        write_json(self.path / name, obj)
