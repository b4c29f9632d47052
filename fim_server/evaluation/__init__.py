"""Offline evaluation of completion systems through the production pipeline.

Modules: ``tasks`` and ``datasets`` (cursor positions from local benchmark files),
``holes`` (holes cut from a local folder), ``sandbox`` (execution of test
programs), ``systems`` (what completes a position), ``judge`` (who wins a
battle), ``ratings`` (Bradley-Terry with bootstrap intervals), ``runner`` (a
resumable run), ``report`` (markdown and plots) and ``cli``.
"""

from . import datasets as _datasets  # noqa: F401  (registers the public suites)
from .tasks import DEFAULT_DATA, DataError, Task, load_suite, subsample

__all__ = ["DEFAULT_DATA", "DataError", "Task", "load_suite", "subsample"]
