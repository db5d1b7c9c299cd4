"""Micro-benchmarks for treadctl, outside `make test`: speed targets live here, not in tests."""
