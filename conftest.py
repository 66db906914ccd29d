"""Settings for the whole test session (unit tests and nbval alike).

Kernels started by nbval inherit this process's environment, so TensorFlow's C++ log lines are
silenced here for the notebooks too (FIELD_NOTES: they reach a notebook's stderr otherwise).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")

import pytest  # noqa: E402
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


@pytest.fixture(autouse=True)
def _session_hash_seed():
    """``seed_everything(seed)`` sets ``PYTHONHASHSEED`` for the subprocesses it will start; put the
    session's value back after each test, so that later tests' processes don't depend on test order
    (and a training worker's start-up settings stay the warm server's: tests/_warm_kernel_plugin.py)."""
    before = os.environ.get("PYTHONHASHSEED")
    yield
    if before is None:
        os.environ.pop("PYTHONHASHSEED", None)
    else:
        os.environ["PYTHONHASHSEED"] = before
