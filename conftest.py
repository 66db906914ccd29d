"""Settings for the whole test session (unit tests and nbval alike).

Kernels started by nbval inherit this process's environment, so TensorFlow's C++ log lines are
silenced here for the notebooks too (FIELD_NOTES: they reach a notebook's stderr otherwise).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")

from hypothesis import HealthCheck, settings  # noqa: E402

# Deterministic by default: the same examples every run, so CI never flakes on a new example.
# HYPOTHESIS_PROFILE=explore searches fresh random examples (run it locally now and then).
settings.register_profile(
    "default",
    derandomize=True,
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
pytest_plugins = [
    "tests._timing_plugin",  # per-notebook durations -> _build/test-timings.json (Reproducibility page)
    "tests._warm_kernel_plugin",  # nbval's kernels forked from one with TensorFlow imported
]
