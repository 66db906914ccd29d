#!/usr/bin/env bash
# The whole test suite: unit tests of nnlib, book-hygiene tests, and every notebook re-executed by
# nbval in strict mode, two notebooks/test modules at a time. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python -m pytest -n 2 --dist loadscope "$@"
