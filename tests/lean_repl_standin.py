"""A scripted stand-in for the Lean REPL (leanprover-community/repl), for tests without Lean.

It speaks the REPL's protocol (see REPL/Main.lean): JSON commands on stdin, each ended by a
blank line; one reply per command on stdout, ended by a blank line; EOF ends the process; a
command that is not valid JSON is an uncaught exception (message on stderr, exit 1). Replies are
replayed from real REPL transcripts (`NAME.in` + `NAME.expected.out` pairs, tests/data/lean/):
a command is recognised by its `cmd` text, a tactic by its text and the goal of its proof
state. Environment and proof-state ids are renumbered per process as the REPL numbers them, and
an unknown id gets the REPL's own "Unknown environment." / "Unknown proof state.". A command no
transcript holds is a test bug: the stand-in says so on stderr and exits 3.

It can be told to misbehave on commands containing a string: --hang-on (never answers),
--crash-on (half an answer, then exit 134), --leak-on (allocates until the address-space cap
stops it, then dies like Lean does: "INTERNAL PANIC: out of memory"). --delay sleeps before
each reply, --log appends JSON lines of what it did, and --wrap runs the stand-in as a child of
a wrapper process, the way `lake exe repl` runs `repl`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "data" / "lean"
LEAK_CHUNK = 64 << 20
LEAK_LIMIT = 1 << 30  # without a cap, give up here instead of eating the machine


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transcripts", type=Path, default=DATA)
    parser.add_argument("--hang-on", action="append", default=[])
    parser.add_argument("--crash-on", action="append", default=[])
    parser.add_argument("--leak-on", action="append", default=[])
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--wrap", action="store_true")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- transcripts


def chunks(text: str) -> list[str]:
    """Blank-line separated blocks, without comment blocks (the REPL skips `#`/`--` input)."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text)]
    return [b for b in blocks if b and not b.startswith(("#", "--"))]


def recorded_goals(reply: dict) -> dict[int, str]:
    """Proof-state id -> goal text, for every proof state a reply hands out."""
    goals = {
        s["proofState"]: s.get("goal", "") for s in reply.get("sorries", []) if "proofState" in s
    }
    if "proofState" in reply and "goals" in reply:
        goals[reply["proofState"]] = "\n\n".join(reply["goals"])
    return goals


def key_of(request: dict, goals: dict[int, str]):
    if "tactic" in request:
        return ("tactic", request["tactic"], goals.get(request.get("proofState")))
    if "cmd" in request:
        return ("cmd", request["cmd"])
    return None


def load(directory: Path) -> dict:
    """(kind, text[, goal]) -> raw reply text, from every transcript pair in `directory`."""
    table: dict = {}
    for source in sorted(directory.glob("*.in")):
        requests = [json.loads(c) for c in chunks(source.read_text("utf-8"))]
        expected = source.with_name(source.name[: -len(".in")] + ".expected.out")
        replies = chunks(expected.read_text("utf-8"))
        if len(requests) != len(replies):
            raise SystemExit(f"{source}: {len(requests)} commands but {len(replies)} replies")
        goals: dict[int, str] = {}
        for request, raw in zip(requests, replies, strict=True):
            key = key_of(request, goals)
            if key is not None:
                table.setdefault(key, raw)
            goals.update(recorded_goals(json.loads(raw)))
    return table


# ---------------------------------------------------------------- the REPL


class StandIn:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.table = load(args.transcripts)
        self.envs = 0  # environments handed out so far
        self.goals: dict[int, str] = {}  # live proof-state id -> goal
        self.states = 0

    def log(self, event: str, **fields) -> None:
        if self.args.log is not None:
            line = {"pid": os.getpid(), "ppid": os.getppid(), "event": event, "t": time.time()}
            with open(self.args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps({**line, **fields}) + "\n")

    def answer(self, request: dict) -> str:
        text = request.get("cmd", request.get("tactic", ""))
        self.misbehave(text)
        if "pickleTo" in request:
            return self.pickle(request)
        if "unpickleEnvFrom" in request:
            return self.unpickle(request)
        if "tactic" in request:
            if request.get("proofState") not in self.goals:
                return '{"message": "Unknown proof state."}'
        elif "cmd" in request:
            env = request.get("env")
            if env is not None and not (isinstance(env, int) and 0 <= env < self.envs):
                return '{"message": "Unknown environment."}'
        else:
            die('uncaught exception: {"message": "Could not parse as a valid JSON command"}', 1)
        raw = self.table.get(key_of(request, self.goals))
        if raw is None:
            die(f"lean_repl_standin: no transcript holds {request!r}", 3)
        return self.renumber(raw)

    def renumber(self, raw: str) -> str:
        """The recorded reply with this process's own env and proof-state ids."""
        reply = json.loads(raw)
        mapping: dict[int, int] = {}

        def state(match: re.Match) -> str:
            recorded = int(match[1])
            if recorded not in mapping:
                mapping[recorded] = self.states
                self.states += 1
            return f'"proofState": {mapping[recorded]}'

        raw = re.sub(r'"proofState": (\d+)', state, raw)
        for recorded, goal in recorded_goals(reply).items():
            self.goals[mapping[recorded]] = goal
        if "env" in reply:
            raw = re.sub(r'"env": \d+', f'"env": {self.envs}', raw)
            self.envs += 1
        return raw

    def pickle(self, request: dict) -> str:
        env = request.get("env")
        if not (isinstance(env, int) and 0 <= env < self.envs):
            return '{"message": "Unknown environment."}'
        Path(request["pickleTo"]).write_bytes(b"lean_repl_standin pickle\n")
        return json.dumps({"env": env})

    def unpickle(self, request: dict) -> str:
        if not Path(request["unpickleEnvFrom"]).is_file():
            die(f"uncaught exception: no such file {request['unpickleEnvFrom']}", 1)
        self.envs += 1
        return json.dumps({"env": self.envs - 1})

    def misbehave(self, text: str) -> None:
        if any(s in text for s in self.args.hang_on):
            self.log("hang")
            while True:
                time.sleep(3600)
        if any(s in text for s in self.args.crash_on):
            self.log("crash")
            sys.stdout.write('{"env":')
            sys.stdout.flush()
            die("INTERNAL PANIC: simulated crash", 134)
        if any(s in text for s in self.args.leak_on):
            self.log("leak")
            leak()


def leak() -> None:
    hoard = []
    try:
        while len(hoard) * LEAK_CHUNK < LEAK_LIMIT:
            hoard.append(bytearray(LEAK_CHUNK))
    except MemoryError:
        hoard.clear()
        die("INTERNAL PANIC: out of memory", 1)
    hoard.clear()


def die(message: str, code: int) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    os._exit(code)


def read_query() -> str:
    """Lines up to a blank line, joined (REPL `getLines`); "" at EOF."""
    lines = []
    while line := sys.stdin.readline():
        if not line.strip():
            if lines:
                break
            continue
        lines.append(line.rstrip())
    return "".join(lines)


def serve(args: argparse.Namespace) -> None:
    repl = StandIn(args)
    repl.log("start")
    while query := read_query():
        try:
            request = json.loads(query)
        except json.JSONDecodeError as exc:
            die(f'uncaught exception: {{"message": "Could not parse JSON:\\n{exc}"}}', 1)
        repl.log("request", request=request)
        reply = repl.answer(request)
        time.sleep(args.delay)
        sys.stdout.write(reply + "\n\n")
        sys.stdout.flush()
        repl.log("reply")


def wrap(argv: list[str], args: argparse.Namespace) -> int:
    """Run the stand-in as a child sharing our stdio, like `lake exe repl` runs `repl`."""
    import subprocess

    if args.log is not None:
        with open(args.log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"pid": os.getpid(), "event": "wrapper", "t": time.time()}) + "\n")
    child = [sys.executable, __file__, *(a for a in argv if a != "--wrap")]
    return subprocess.call(child)


def main() -> None:
    argv = sys.argv[1:]
    args = parse_args(argv)
    if args.wrap:
        raise SystemExit(wrap(argv, args))
    serve(args)


if __name__ == "__main__":
    main()
