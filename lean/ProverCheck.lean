-- The Lean 4 project the cross-checker runs in (Mathlib plus the REPL).
-- Formal statements checked by `prover lean` are sent to the REPL with `import Mathlib`;
-- nothing needs to be compiled here beyond `lake build` fetching the dependencies.
import ProverCheck.Basic
