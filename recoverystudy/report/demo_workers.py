"""Worker processes for the demo: how many, how they start, and the steps they run.

With two CPUs the demo runs the parts that need only the generated study or the survey answers (the
Framework Method project, the care-plan audit, measurement invariance, the figures and the Word file) in two
worker processes while the statistics run in the main process.  Everything a worker computes is merged back
in the order one process would have produced it, so the report is the same byte for byte.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

import recoverystudy as rs
from recoverystudy.report.html import figure_to_base64

__all__: list[str] = []

# --------------------------------------------------------------------------------------------------
# running independent steps in worker processes
# --------------------------------------------------------------------------------------------------
#: Allocations between two collections of the youngest generation while the demo runs (Python's default is 700).
_GC_THRESHOLD0 = 10_000


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often inside the block, then restore the interpreter's thresholds.

    At Python's default threshold a demo run makes about seven full collections of the whole heap (~0.5 s of
    CPU); with 10,000 allocations between young collections almost none (cyclic garbage is still collected).
    Forked workers inherit the setting; :func:`_detached` sets it in a spawned worker.

    Examples
    --------
    >>> import gc
    >>> before = gc.get_threshold()
    >>> with _fewer_collections():
    ...     gc.get_threshold()[0]
    10000
    >>> gc.get_threshold() == before
    True
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], _GC_THRESHOLD0), before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _demo_jobs(n_jobs: int | None) -> int:
    """1 (everything in this process) or 2 (two CPUs: worker processes help); None = 2 when 2+ CPUs are usable."""
    if n_jobs is None:
        return 2 if _usable_cpus() >= 2 else 1
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise rs.errors.RecoveryStudyError(f"n_jobs must be a whole number of processes (1 or more), got {n_jobs!r}.")
    return min(n_jobs, 2)


def _mp_context(start_method: str | None) -> Any:
    """The multiprocessing context: the platform's default, or fork/spawn/forkserver by name.

    Forking a process that runs other threads (a notebook kernel, a progress bar's refresh thread) can
    copy a lock some thread holds and hang the worker, so when the default would be ``fork`` and this
    process has other threads, the workers are started with ``spawn`` instead (slower to start, safe).
    """
    methods = mp.get_all_start_methods()
    if start_method is not None and start_method not in methods:
        raise rs.errors.RecoveryStudyError(
            f"start_method {start_method!r} is not available on this platform; choose one of {', '.join(methods)}.")
    if start_method is None and mp.get_start_method(allow_none=True) in (None, "fork") and methods[0] == "fork" \
            and threading.active_count() > 1:
        return mp.get_context("spawn")
    return mp.get_context(start_method)


def _detached(run_cls: type, steps: list[tuple[str, Callable[[Any], None]]], study: Any, out: Path, seed: int,
              scale: float, frames: dict[str, pd.DataFrame] | None) -> dict[str, Any]:
    """Worker process (fork or spawn): run *steps* on a fresh run holding the study and the survey answers
    read back from its files; return what they added.

    With ``study=None`` the worker generates the study itself from *seed* and *scale* (the same call as
    step 1, so it can start before step 1 has finished here); the digest of what it generated
    (:func:`study_digest`) is returned, and the caller checks it against its own.

    The steps run here must only read the study, the answers, the output folder and the seed (measurement
    invariance, the Framework Method project, the care-plan audit): the caller merges what they add where it
    would have run them, so the report is the same as from one process.
    """
    cpu0 = time.process_time()
    gc.set_threshold(max(gc.get_threshold()[0], _GC_THRESHOLD0))   # a worker process: see _fewer_collections
    digest = None
    if study is None:
        study = rs.synthetic.six_site_study(seed=seed, scale=scale)
        digest = study_digest(study)
    run = run_cls(out=Path(out), seed=seed, scale=scale)
    run.study, run.frames = study, frames or {}
    timings: dict[str, float] = {}
    for name, func in steps:
        started = time.perf_counter()
        func(run)
        timings[name] = time.perf_counter() - started
    return {"sections": run.sections, "tables": run.tables, "key": run.key, "provenance": run.provenance,
            "unavailable": run.unavailable, "notes": run.notes.messages, "project_path": run.project_path,
            "audit": run.audit, "timings": timings, "cpu_seconds": time.process_time() - cpu0,
            "study_digest": digest}


def check_study(run: Any, part: dict[str, Any]) -> None:
    """A worker's study must be exactly the one generated here (same seed, same code): else stop, plainly."""
    if part.get("study_digest") is None:
        return
    if run.digest is None:
        run.digest = study_digest(run.study)
    if part["study_digest"] != run.digest:
        raise rs.errors.RecoveryStudyError(
            "A worker process of the demo generated a different synthetic study from the same seed, so its part "
            "of the report would not match the rest. Run the demo in one process (n_jobs=1) and report this.")


def study_digest(study: Any) -> str:
    """SHA-256 of every table of a synthetic study (values, index and column names), to check that a worker
    process generated exactly the study this process did.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> a = rs.synthetic.six_site_study(seed=1, scale=0.2)
    >>> study_digest(a) == study_digest(rs.synthetic.six_site_study(seed=1, scale=0.2))
    True
    >>> study_digest(a) == study_digest(rs.synthetic.six_site_study(seed=2, scale=0.2))
    False
    """
    h = hashlib.sha256()
    for name in ("sites", "service_users", "coordinators", "interviews", "care_plans"):
        frame = getattr(study, name)
        h.update(repr((name, list(map(str, frame.columns)), list(map(str, frame.dtypes)))).encode())
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    h.update(repr(sorted(study.planted.items(), key=str)).encode())
    return h.hexdigest()


def _render(func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Draw a figure (``func`` returns a matplotlib figure, or already its base64 PNG) as base64 PNG."""
    out = func(*args, **kwargs)
    return out if isinstance(out, str) else figure_to_base64(out)


def _cpu_timed(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``func(*args, **kwargs)`` and the CPU seconds it took (for work sent to a worker process)."""
    cpu0 = time.process_time()
    return func(*args, **kwargs), time.process_time() - cpu0


def _merge_detached(run: Any, part: dict[str, Any]) -> None:
    """Add a worker's results to *run* exactly as if its steps had run here, in this order."""
    run.sections.extend(part["sections"])
    run.tables.update(part["tables"])
    run.key.update(part["key"])
    run.provenance.extend(part["provenance"])
    run.unavailable.update(part["unavailable"])
    run.notes.extend(part["notes"])
    if part["project_path"] is not None:
        run.project_path = part["project_path"]
    if part["audit"] is not None:
        run.audit = part["audit"]


def _collect(detached: Any) -> dict[str, Any]:
    """A worker task's results; its own error if it failed (a crash is reported in plain words)."""
    try:
        return detached.result()
    except BrokenProcessPool as exc:
        raise rs.errors.RecoveryStudyError(
            "A worker process of the demo stopped unexpectedly "
            f"({exc}). Run the demo again, or in one process with n_jobs=1.") from exc
