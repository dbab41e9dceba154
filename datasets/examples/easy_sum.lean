-- A formal statement and proof of datasets/examples/easy_sum.tex, for `prover lean check`.
import Mathlib

theorem odd_add_odd_even (a b : ℤ) (ha : Odd a) (hb : Odd b) : Even (a + b) := by
  obtain ⟨m, rfl⟩ := ha
  obtain ⟨n, rfl⟩ := hb
  exact ⟨m + n + 1, by ring⟩
