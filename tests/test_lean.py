"""Lean cross-checking: the REPL protocol, the REPL processes and `prover lean`.

The protocol layer runs against `tests/lean_repl_standin.py`, a real subprocess that speaks the
REPL's protocol and replays replies from real REPL transcripts in `tests/data/lean/` (copied from
leanprover-community/repl's `test/` folder; tests/data/lean/README.md names each source file and
commit; `synthetic_axioms.*` is constructed, in the same shapes). Request and reply shapes follow
REPL/Main.lean and lean-interact's `server.py` (augustepoiroux/LeanInteract). Tests that need a
real Lean toolchain skip when `lake` is not on PATH.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeBackend

from prover.cli import main
from prover.errors import InputError, MissingExtraError
from prover.lean import (
    Crashed,
    LeanErrors,
    LeanSetupError,
    LeanTemplates,
    Proved,
    ReplConfig,
    ReplProcesses,
    Timeout,
    cross_check,
    protocol,
    require_lean,
    source,
)
from prover.lean.transport import CommandTransport, InteractTransport

HERE = Path(__file__).parent
STANDIN = HERE / "lean_repl_standin.py"
DATA = HERE / "data" / "lean"
HAS_LAKE = shutil.which("lake") is not None

# Commands whose replies the transcripts hold.
PROVED = "theorem mathd_numbertheory_188 : Nat.gcd 180 168 = 12 := by norm_num"
SORRY = "theorem test : 0 < 1 := by sorry"
HANGS = "theorem test : 3 = 7 := by sorry"
PLACEHOLDER = "example : 1 = 0 := by\n  cases' exists_ne 2 with n h\n  simpa [] using h _"


def standin(*args: str) -> tuple[str, ...]:
    return (sys.executable, str(STANDIN), *args)


def make_repls(tmp_path: Path, *args: str, **config) -> ReplProcesses:
    settings = dict(size=1, timeout=10.0, header_timeout=10.0, memory_mb=None)
    settings.update(config)
    return ReplProcesses(ReplConfig(project=tmp_path, command=standin(*args), **settings))


def replies(name: str) -> list[dict]:
    text = (DATA / f"{name}.expected.out").read_text("utf-8")
    return [json.loads(block) for block in text.split("\n\n") if block.strip()]


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def alive(pid: int) -> bool:
    """Running (zombies count as dead: nobody may reap orphans in a container)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def gone(pids: list[int], within: float = 2.0) -> bool:
    """All of `pids` end within `within` seconds (SIGKILL is delivered asynchronously)."""
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# ---------------------------------------------------------------- protocol


def test_requests_are_single_line_json_ended_by_a_blank_line():
    wire = protocol.encode(protocol.command("theorem t :\n  1 = 1 := rfl", env=3))
    assert wire.endswith(b"\n\n") and wire.count(b"\n") == 2
    assert json.loads(wire) == {"cmd": "theorem t :\n  1 = 1 := rfl", "env": 3}
    assert protocol.tactic("simp", 4) == {"tactic": "simp", "proofState": 4}
    assert protocol.pickle_env("a.olean", 2) == {"pickleTo": "a.olean", "env": 2}
    assert protocol.command("import Mathlib") == {"cmd": "import Mathlib"}


def test_reply_end_waits_for_the_blank_line_after_a_pretty_printed_reply():
    reply = (DATA / "exact.expected.out").read_bytes().split(b"\n\n")[1] + b"\n\n"
    assert protocol.reply_end(reply[:-1]) is None
    assert protocol.reply_end(reply) == len(reply)
    assert protocol.reply_end(b"\n\n") is None
    assert protocol.reply_end(reply + b'{"env"') == len(reply)
    assert protocol.decode("Processing...\n" + reply.decode())["env"] == 1


def test_verdicts_of_recorded_replies():
    header, sorry, completed, _, refused = replies("exact")
    assert isinstance(protocol.verdict(header), Proved)
    verdict = protocol.verdict(sorry)
    assert isinstance(verdict, LeanErrors) and verdict.sorry and verdict.only_sorry
    assert isinstance(protocol.step_verdict(completed), Proved)
    step = protocol.step_verdict(refused)
    assert isinstance(step, LeanErrors) and "could not close the goal" in step.messages[0].data

    error = protocol.verdict(replies("placeholder_synthesis")[1], line_offset=2)
    assert isinstance(error, LeanErrors) and not error.sorry
    assert (error.errors[0].line, error.errors[0].column) == (5, 19)
    proved = protocol.verdict(replies("H20231020")[1])
    assert isinstance(proved, Proved) and proved.messages[0].severity == "info"
    assert protocol.verdict(replies("long_kernel_check")[2]) == Timeout(None)
    backtick_sorry = protocol.verdict(replies("app_type_mismatch")[1])
    assert isinstance(backtick_sorry, LeanErrors) and backtick_sorry.sorry
    contains_sorry = protocol.step_verdict(replies("induction")[4])
    assert isinstance(contains_sorry, LeanErrors) and contains_sorry.sorry


def test_axioms_outside_the_standard_three_reject_a_proof():
    native = replies("synthetic_axioms")[5]
    axioms = protocol.axioms_used(native, "gcd_native")
    assert axioms == {"Lean.ofReduceBool"}
    verdict = protocol.axiom_verdict(Proved(), axioms, protocol.STANDARD_AXIOMS)
    assert isinstance(verdict, LeanErrors) and "Lean.ofReduceBool" in verdict.messages[-1].data
    with_sorry = frozenset({"propext", "sorryAx"})
    rejected = protocol.axiom_verdict(Proved(), with_sorry, protocol.STANDARD_AXIOMS)
    assert isinstance(rejected, LeanErrors) and rejected.sorry
    none = {"messages": [{"severity": "info", "data": "'t' does not depend on any axioms"}]}
    assert protocol.axioms_used(none, "t") == frozenset()


# ---------------------------------------------------------------- Lean source text


def test_split_imports_keeps_line_numbers_recoverable():
    text = (
        "-- a file\nimport Mathlib.Data.Real.Basic\nimport Mathlib\n\n"
        "/-- doc -/\ntheorem t : True := trivial\n"
    )
    split = source.split_imports(text)
    assert split.modules == ("Mathlib.Data.Real.Basic", "Mathlib")
    assert split.body.startswith("/-- doc -/") and split.offset == 4
    assert split.covered_by(("Mathlib",)) and not split.covered_by(("Mathlib.Data",))
    assert source.split_imports("theorem t : True := trivial").offset == 0


def test_statements_are_renamed_and_proofs_keep_only_their_body():
    answer = (
        "Here:\n```lean\nimport Mathlib\nopen Real\n\n"
        "theorem foo (x : ℝ) (h : 0 < x := by positivity) : 0 < x ^ 2 := by sorry\n```"
    )
    statement = source.parse_statement(source.extract_code(answer))
    assert statement.preamble == "open Real"
    assert statement.signature == (
        "theorem formal_statement (x : ℝ) (h : 0 < x := by positivity) : 0 < x ^ 2"
    )
    assert statement.source.endswith(": 0 < x ^ 2 := by sorry\n")
    easier = "```lean\ntheorem formal_statement : True := by\n  positivity\n```"
    assert source.proof_body(source.extract_code(easier)) == "by\n  positivity"
    assert source.proof_body("intro x\nsimp") == "by\n  intro x\n  simp"
    assert source.extract_code("no code here") is None
    assert source.parse_statement("def f := 1") is None


# ---------------------------------------------------------------- one process


def test_command_transport_speaks_the_protocol(tmp_path):
    transport = CommandTransport(standin(), cwd=tmp_path)
    transport.start()
    try:
        assert transport.exchange({"cmd": "import Mathlib"}, 10) == {"env": 0}
        reply = transport.exchange({"cmd": SORRY, "env": 0}, 10)
        assert reply["env"] == 1 and reply["sorries"][0]["proofState"] == 0
        assert transport.exchange({"cmd": SORRY, "env": 9}, 10) == {
            "message": "Unknown environment."
        }
        crashed = transport.exchange({"cmd": "not in any transcript"}, 10)
        assert isinstance(crashed, Crashed) and "exit code 3" in crashed.reason
        assert "no transcript holds" in crashed.reason and not transport.alive
    finally:
        transport.stop()


# ---------------------------------------------------------------- the REPL processes


def test_check_runs_in_the_header_environment_with_file_line_numbers(tmp_path):
    log = tmp_path / "log"
    with make_repls(tmp_path, "--log", str(log)) as repls:
        verdict = repls.check(f"import Mathlib\n\n{PLACEHOLDER}\n")
        assert isinstance(verdict, LeanErrors) and not verdict.sorry
        assert (verdict.errors[0].line, verdict.errors[0].column) == (5, 19)
        assert isinstance(repls.check(PROVED), Proved)
        sorry = repls.check(SORRY)
        assert isinstance(sorry, LeanErrors) and sorry.only_sorry
    requests = [e["request"] for e in log_lines(log) if e["event"] == "request"]
    assert requests[0] == {"cmd": "import Mathlib"}  # imported once, for all three checks
    assert [r.get("env") for r in requests[1:]] == [0, 0, 0]


def test_imports_the_header_does_not_cover_get_a_fresh_environment(tmp_path):
    header = json.loads((DATA / "H20231020.in").read_text().split("\n\n")[0])["cmd"]
    own = "import Mathlib\n\nset_option maxHeartbeats 500000"
    log = tmp_path / "log"
    with make_repls(tmp_path, "--log", str(log), header=header) as repls:
        assert isinstance(repls.check(own), Proved)
    requests = [e["request"] for e in log_lines(log) if e["event"] == "request"]
    assert requests[-1] == {"cmd": own}  # no env: imports are only allowed in a new one


def test_timeout_kills_the_process_tree_and_the_repls_recover(tmp_path):
    log = tmp_path / "log"
    with make_repls(tmp_path, "--wrap", "--hang-on", HANGS, "--log", str(log)) as repls:
        assert isinstance(repls.check(PROVED), Proved)
        started = time.monotonic()
        assert repls.check(HANGS, timeout=0.5) == Timeout(0.5)
        assert time.monotonic() - started < 3
        pids = [e["pid"] for e in log_lines(log) if e["event"] in ("wrapper", "start")]
        assert len(pids) == 2 and gone(pids)  # the wrapper and its child
        assert isinstance(repls.check(PROVED), Proved)
        assert repls.starts == 2 and repls.size == 1


def test_a_crash_is_a_value_and_the_next_check_gets_a_new_process(tmp_path):
    with make_repls(tmp_path, "--crash-on", HANGS) as repls:
        crashed = repls.check(HANGS)
        assert isinstance(crashed, Crashed)
        assert "exit code 134" in crashed.reason and "simulated crash" in crashed.reason
        assert isinstance(repls.check(SORRY), LeanErrors)
        assert repls.starts == 2


def test_memory_cap_stops_a_leaking_process(tmp_path):
    with make_repls(tmp_path, "--leak-on", HANGS, memory_mb=256) as repls:
        crashed = repls.check(HANGS)
        assert isinstance(crashed, Crashed) and "out of memory" in crashed.reason
        assert isinstance(repls.check(PROVED), Proved)


def test_header_failures(tmp_path):
    with make_repls(tmp_path, "--crash-on", "import Mathlib") as repls:
        assert isinstance(repls.check(PROVED), Crashed)
    broken = "example : 1 = 0 := by\n  cases 1\n  rfl\n  apply ?succ"
    with make_repls(tmp_path, header=broken) as repls:
        with pytest.raises(LeanSetupError, match="declaration has metavariables"):
            repls.check(PROVED)


def test_repls_check_in_parallel_and_keep_order(tmp_path):
    log = tmp_path / "log"
    sources = [PROVED, SORRY, f"import Mathlib\n\n{PLACEHOLDER}", PROVED]
    with make_repls(tmp_path, "--delay", "0.3", "--log", str(log), size=2) as repls:
        verdicts = repls.check_many(sources)
    assert [type(v) for v in verdicts] == [Proved, LeanErrors, LeanErrors, Proved]
    assert verdicts[2].errors[0].line == 5
    events = [e for e in log_lines(log) if e["event"] in ("request", "reply")]
    assert len({e["pid"] for e in events}) == 2
    spans = {}
    for e in events:  # per process, the time its first check (after the header) was running
        if e["event"] == "request" and "env" in e["request"]:
            spans.setdefault(e["pid"], [e["t"], None])
        elif e["pid"] in spans and spans[e["pid"]][1] is None:
            spans[e["pid"]][1] = e["t"]
    (a0, a1), (b0, b1) = spans.values()
    assert a0 < b1 and b0 < a1  # the two processes worked at the same time


def test_processes_are_recycled_after_a_number_of_commands(tmp_path):
    with make_repls(tmp_path, recycle_after=2) as repls:
        for _ in range(3):
            assert isinstance(repls.check(PROVED), Proved)
        assert repls.starts == 2


def test_a_session_holds_one_process_for_tactic_mode(tmp_path):
    with make_repls(tmp_path) as repls, repls.session() as session:
        reply = session.run(protocol.command(SORRY))
        state = reply["sorries"][0]["proofState"]
        solved = protocol.step_verdict(session.run(protocol.tactic("exact?", state)))
        assert isinstance(solved, Proved)
        other = session.run(protocol.command(HANGS))["sorries"][0]["proofState"]
        failed = protocol.step_verdict(session.run(protocol.tactic("exact?", other)))
        assert isinstance(failed, LeanErrors) and failed.messages[0].data.startswith("Lean error")
        unknown = session.run(protocol.tactic("exact?", 99))
        assert unknown == {"message": "Unknown proof state."}
        target = tmp_path / "header.olean"
        assert session.run(protocol.pickle_env(str(target), session.header_env)) == {
            "env": session.header_env
        }
        assert target.exists()


# ---------------------------------------------------------------- formalize and prove


def scripted(*answers: str) -> FakeBackend:
    """Our own `Backend` interface answering from a list (the model is not under test here)."""
    return FakeBackend(answers)


STATEMENT = "```lean\ntheorem gcd_fact : Nat.gcd 180 168 = 12 := by sorry\n```"
FORMAL_PROOF = "```lean\ntheorem gcd_fact : Nat.gcd 180 168 = 12 := by norm_num\n```"


def test_cross_check_formalizes_then_proves(tmp_path):
    backend = scripted(STATEMENT, FORMAL_PROOF)
    with make_repls(tmp_path) as repls:
        result = cross_check("Show that gcd(180, 168) = 12.", "Euclid.", backend, repls)
    assert result.proved and result.stage == "proof"
    assert result.lean_proof.startswith("theorem formal_statement : Nat.gcd 180 168 = 12")
    prove_prompt = backend.prompts[1]
    assert "Euclid." in prove_prompt and "formal_statement" in prove_prompt
    assert result.to_record()["lean"] == "proved"


def test_cross_check_stops_where_the_chain_breaks(tmp_path):
    with make_repls(tmp_path) as repls:
        no_code = cross_check("p", None, scripted("I cannot."), repls)
        assert no_code.stage == "formalize" and no_code.verdict is None
        assert no_code.to_record()["lean"] == "unformalized"
        with pytest.raises(InputError):
            LeanTemplates.load(_bad_templates(tmp_path))
        native = repls.check(
            "theorem gcd_native : Nat.gcd 180 168 = 12 := by native_decide", theorem="gcd_native"
        )
        assert isinstance(native, LeanErrors) and "ofReduceBool" in native.messages[-1].data


def _bad_templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "lean_prove.txt").write_text("{{statement}} {{proof}}")
    return folder


# ---------------------------------------------------------------- optional backends


@pytest.fixture
def fake_lean_interact_repl(tmp_path) -> tuple[Path, Path]:
    """A 'lake' that runs its last argument, and a 'repl' binary that is the stand-in."""
    repl_dir = tmp_path / "repl"
    binary = repl_dir / ".lake" / "build" / "bin" / "repl"
    binary.parent.mkdir(parents=True)
    (repl_dir / "lean-toolchain").write_text("leanprover/lean4:v4.19.0\n")
    binary.write_text(f"#!/bin/sh\nexec {sys.executable} {STANDIN} --hang-on '{HANGS}'\n")
    lake = tmp_path / "lake"
    lake.write_text('#!/bin/sh\nshift\nexec "$@"\n')  # `lake env BINARY` -> BINARY
    for path in (binary, lake):
        path.chmod(0o755)
    return repl_dir, lake


def test_lean_interact_transport_drives_the_same_protocol(fake_lean_interact_repl):
    lean_interact = pytest.importorskip("lean_interact")
    repl_dir, lake = fake_lean_interact_repl
    config = lean_interact.LeanREPLConfig(
        local_repl_path=str(repl_dir), build_repl=False, lake_path=str(lake)
    )
    repls = ReplProcesses(
        ReplConfig(size=1, timeout=10, header_timeout=10),
        make_transport=lambda: InteractTransport(config),
    )
    with repls:
        assert isinstance(repls.check(PROVED), Proved)
        assert isinstance(repls.check(HANGS, timeout=0.5), Timeout)
        assert isinstance(repls.check(SORRY), LeanErrors) and repls.starts == 2


def test_leandojo_adapter_names_its_extra():
    if _importable("lean_dojo"):
        pytest.skip("lean_dojo is installed")
    from prover.lean.dojo import DojoChecker, DojoTheorem

    checker = DojoChecker(DojoTheorem(Path("."), "A.lean", "a"))
    with pytest.raises(MissingExtraError, match=r"prover\[leandojo\]"):
        checker.check("simp")


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------- CLI


def invoke(*args, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture
def lean_file(tmp_path) -> Path:
    path = tmp_path / "Check.lean"
    path.write_text(f"import Mathlib\n\n{PLACEHOLDER}\n")
    return path


def test_check_without_lean_is_one_line_and_exit_2(no_lean, lean_file):
    result = invoke("lean", "check", lean_file)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "`lake` is not on PATH" in result.output
    with pytest.raises(InputError):
        require_lean()


def test_a_repl_command_that_does_not_exist_is_exit_2(lean_file):
    result = invoke("lean", "check", lean_file, "--repl-command", "no-such-repl --flag")
    assert result.exit_code == 2 and "'no-such-repl' was not found" in result.output


def test_formalize_without_lean_stops_before_loading_a_model(no_lean, tmp_path):
    problem = tmp_path / "p.tex"
    problem.write_text("Prove that $1 + 1 = 2$.")
    result = invoke("lean", "formalize", problem, "--model", tmp_path / "no-such-model")
    assert result.exit_code == 2 and "`lake` is not on PATH" in result.output
    assert result.output.count("\n") == 1


def test_doctor_lists_what_is_missing(no_lean, tmp_path):
    result = invoke("lean", "doctor", "--project", tmp_path / "nowhere")
    assert result.exit_code == 1
    missing = {line.split()[1] for line in result.output.splitlines() if line.startswith("MISSING")}
    assert {"lake", "lean", "elan", "REPL"} <= missing


def test_doctor_passes_when_everything_is_there(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("lake", "lean", "elan"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    project = tmp_path / "lean"
    for relative in (
        "lakefile.toml",
        "lean-toolchain",
        ".lake/packages/REPL/.lake/build/bin/repl",
        ".lake/packages/mathlib/.lake/build/lib/lean/Mathlib.olean",
    ):
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text("")
    monkeypatch.setenv("PATH", str(bin_dir))
    result = invoke("lean", "doctor", "--project", project)
    if _importable("lean_interact"):
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1
        assert [line.split()[1] for line in result.output.splitlines() if "MISSING" in line] == [
            "lean-interact"
        ]


def test_check_through_a_repl_command(lean_file, tmp_path):
    command = f"{sys.executable} {STANDIN}"
    result = invoke("lean", "check", lean_file, "--repl-command", command, "--memory-mb", "0")
    assert result.exit_code == 1
    assert f"{lean_file}:5:19: error: don't know how to synthesize placeholder" in result.output
    proved = tmp_path / "Proved.lean"
    proved.write_text(PROVED + "\n")
    result = invoke("lean", "check", proved, "--repl-command", command, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["lean"] == "proved"


def test_formalize_with_the_tiny_model(tiny_model, tmp_path):
    problem = tmp_path / "p.tex"
    problem.write_text("Prove that $1 + 1 = 2$.")
    command = f"{sys.executable} {STANDIN}"
    options = ["--max-tokens", "8", "--seed", "0", "--format", "json"]
    result = invoke(
        "lean", "formalize", problem, "--model", tiny_model, "--repl-command", command, *options
    )
    assert result.exit_code == 1
    record = json.loads(result.output.splitlines()[0])
    assert record["problem"] == 1 and record["stage"] == "formalize"  # random weights write no Lean
    assert "not proved in Lean: problem(s) 1" in result.output


# ---------------------------------------------------------------- real Lean


REAL = textwrap.dedent(
    """\
    import Mathlib

    theorem two_add_two : 2 + 2 = 4 := by norm_num

    theorem with_sorry : 1 = 1 := by sorry

    theorem wrong : 2 + 2 = 5 := by norm_num
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LAKE, reason="needs a Lean toolchain (lake on PATH) and lean/ built")
def test_real_lean_check(tmp_path):
    good = tmp_path / "Good.lean"
    good.write_text("import Mathlib\n\ntheorem two_add_two : 2 + 2 = 4 := by norm_num\n")
    result = invoke("lean", "check", good, "--theorem", "two_add_two", "--workers", "1")
    assert result.exit_code == 0, result.output
    bad = tmp_path / "Bad.lean"
    bad.write_text(REAL)
    result = invoke("lean", "check", bad, "--workers", "1")
    assert result.exit_code == 1 and "uses sorry" not in result.output
    assert f"{bad}:7:" in result.output  # the error is on the `wrong` theorem's line


# ---------------------------------------------------------------- `prover lean` as library calls


def test_check_file_and_formalize_file_are_the_commands_as_calls(tmp_path, monkeypatch):
    from prover.lean.commands import CheckRun, FormalizeRun, check_file, formalize_file
    from prover.lean.repl import ReplOptions

    repl = ReplOptions(repl_command=f"{sys.executable} {STANDIN}", memory_mb=0, workers=1)
    proved = tmp_path / "Proved.lean"
    proved.write_text(PROVED + "\n")
    assert isinstance(check_file(CheckRun(proved, repl)), Proved)
    empty = tmp_path / "Empty.lean"
    empty.write_text("\n")
    with pytest.raises(InputError, match="is empty"):
        check_file(CheckRun(empty, repl))

    problems = tmp_path / "p.tex"
    problems.write_text("\\begin{enumerate}\\item Show that gcd(180, 168) = 12.\n"
                        "\\item Prove that $1 + 1 = 2$.\\end{enumerate}\n")  # fmt: skip
    backend = scripted(STATEMENT, FORMAL_PROOF, "I cannot.")
    monkeypatch.setattr("prover.lean.commands.build_generator", lambda config: backend)
    seen = []
    results = formalize_file(FormalizeRun(problems, repl=repl), lambda p, r: seen.append(p.index))
    assert [(p.index, r.proved, r.stage) for p, r in results] == [
        (1, True, "proof"), (2, False, "formalize")
    ]  # fmt: skip
    assert seen == [1, 2]
    with pytest.raises(InputError, match="choose one with --problem"):
        formalize_file(FormalizeRun(problems, proof_file=proved, repl=repl))


def test_lean_options_need_lean(tmp_path):
    from prover.lean.crosscheck import LeanOptions, setup_lean
    from prover.lean.repl import ReplOptions

    assert setup_lean(LeanOptions()) is None
    with pytest.raises(InputError, match="--lean-repl-command needs --lean"):
        setup_lean(LeanOptions(repl=ReplOptions(repl_command="repl")))
    with pytest.raises(InputError, match="--lean-project needs --lean"):
        setup_lean(LeanOptions(repl=ReplOptions(project=tmp_path)))
    repl = ReplOptions(project=tmp_path, repl_command=f"{sys.executable} {STANDIN}", workers=4)
    setup = setup_lean(LeanOptions(True, repl, attempts=2))
    assert setup.repls.size == 1 and setup.attempts == 2  # one process: checks come in turn
    setup.repls.close()
