#!/usr/bin/env bash
# The whole book as one PDF, _build/pdf/book.pdf (also copied to _build/html/book.pdf, which the
# landing page links to): a single-page HTML build printed by headless Chromium after the local
# MathJax has typeset the math. No LaTeX is needed; Chromium is (Debian: apt-get install chromium).
# It builds into _build/singlehtml only; the HTML book (and the offline MathJax it stages) comes
# from scripts/build_book.sh, which runs first if there is no build yet.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f _build/offline/mathjax/tex-chtml.js ] || [ ! -f _build/html/searchindex.js ]; then
  bash scripts/build_book.sh
fi
bash scripts/bootstrap.sh
.venv/bin/jupyter-book build --builder singlehtml -W -n --keep-going . >/dev/null
exec .venv/bin/python -m tools.pdf "$@"
