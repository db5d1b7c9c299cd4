"""Shared test configuration: deterministic hypothesis runs."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Deterministic by default so `make test` gives the same result on every run; set
# TREADCTL_HYPOTHESIS_PROFILE=explore to search with fresh random seeds (printed on failure).
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, print_blob=True, max_examples=5000)
settings.load_profile(os.environ.get("TREADCTL_HYPOTHESIS_PROFILE", "ci"))
