"""Diagnosis: pure functions from typed snapshots to findings (no I/O, no kubernetes import)."""
