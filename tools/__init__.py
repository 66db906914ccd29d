"""The book's own tooling: it knows the book's files (``_toc.yml``, ``chapters/``, ``_build/``).

* :mod:`tools.notebooks` re-executes notebooks in place (``python -m tools.notebooks execute``);
* :mod:`tools.environment` describes a machine in the terms that decide floating-point rounding;
* :mod:`tools.reproducibility` writes the appendix's Reproducibility page;
* :mod:`tools.check` compares a reader's re-execution with the stored outputs
  (``bash scripts/check_machine.sh``).

``nnlib`` is the library the chapters import and knows nothing of these files.
"""
