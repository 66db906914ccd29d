#!/usr/bin/env bash
# The portability matrix: strict nbval over chapters/ under settings that change floating-point
# rounding but not the math (oneDNN flipped, ISA capped at AVX2, another OpenBLAS kernel, one TF
# thread, nnlib's one-ulp perturbation mode). Every stored output must pass under every one.
# Arguments go to `python -m tools.portability` (e.g. --list, --ci, or configuration names).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m tools.portability "$@"
