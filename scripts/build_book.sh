#!/usr/bin/env bash
# Build the HTML book into _build/html from the notebooks' stored (tested) outputs.
# Warnings are errors: the build fails if Sphinx warns about anything.
#
# The book reads offline: MathJax 3 comes from the npm package pinned in package-lock.json
# (`npm ci` into _build/npm, only when the lock file changed), is staged in _build/offline/mathjax and copied by
# Sphinx (html_extra_path) to _build/html/mathjax/, which _config.yml's mathjax_path points at.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

# npm installs into _build/npm (ignored by git), never into the source tree.
npm_dir=_build/npm
lock_sum=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -f "$npm_dir/node_modules/mathjax/es5/tex-chtml.js" ] || [ "$(cat "$npm_dir/.lock.sha256" 2>/dev/null)" != "$lock_sum" ]; then
  command -v npm >/dev/null || { echo "build_book: npm is needed to install the local MathJax (package.json)" >&2; exit 1; }
  echo "build_book: installing MathJax with npm ci"
  mkdir -p "$npm_dir"
  cp package.json package-lock.json "$npm_dir/"
  npm ci --prefix "$npm_dir" --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$npm_dir/.lock.sha256"
fi
rm -rf _build/offline
mkdir -p _build/offline
cp -r "$npm_dir/node_modules/mathjax/es5" _build/offline/mathjax

start=$(date +%s)
.venv/bin/jupyter-book build --all -W -n --keep-going .
pages=$(find _build/html -name '*.html' -not -path '_build/html/_*' -not -path '_build/html/mathjax/*' | wc -l)
echo "book built in $(( $(date +%s) - start )) s ($pages HTML pages): open $(pwd)/_build/html/index.html"
