#!/usr/bin/env bash
# Build the HTML book into _build/html from the notebooks' stored (tested) outputs.
# Warnings are errors: the build fails if Sphinx warns about anything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/jupyter-book build --all -W -n --keep-going .
echo "book built: open $(pwd)/_build/html/index.html"
