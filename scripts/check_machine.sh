#!/usr/bin/env bash
# Check my machine: re-execute the book's notebooks (without changing them) and compare every printed
# number with the book's stored outputs; prints a report and writes _build/check/report.{md,html,json}.
# Extra arguments go to `python -m tools.check` (notebooks or folders, --rtol, --jobs, --report-dir).
# TF_CPP_MIN_LOG_LEVEL is deliberately left as the reader has it: the point is to see what a reader sees.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m tools.check "$@"
