"""Complete training programs that chapters run as separate processes.

* ``multi_worker_digits.py`` — one worker of the two-worker digits training of Chapter 4.12,
  *Training across machines*; start it with :func:`nnlib.distribute.launch_local` and
  :data:`MULTI_WORKER_DIGITS`.

They ship inside the package so that a notebook finds them wherever ``nnlib`` is installed
(Colab included).
"""

from pathlib import Path

MULTI_WORKER_DIGITS = Path(__file__).with_name("multi_worker_digits.py")
