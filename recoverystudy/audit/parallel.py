"""Pre-rating many plans, in worker processes when that helps (fork, spawn or forkserver alike).

:func:`prerate_many` rates plans a chunk at a time with :func:`~recoverystudy.audit.prerate.prerate_batch`
(which looks up the rules' literals, sentence bounds and heading lines once per chunk).  With
``n_jobs > 1`` and at least 200 plans the work is cut into chunks dealt out in turn to ``n_jobs`` worker
processes; each worker receives the rubric once (its rules pickle as their source text), so the start
method of macOS and Windows (``spawn``) works as well as Linux's ``fork``.  Results come back in input
order, identical to a run in one process.

:class:`WorkerPool` keeps a few worker processes (any start method) that map a module-level function
over tasks, dealt out in turn; :func:`~recoverystudy.audit.report.write_audit_report` redacts the
quoted evidence and scans its outputs with one.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import queue
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from recoverystudy.audit.prerate import prerate_batch
from recoverystudy.audit.rubric import Rubric
from recoverystudy.errors import AuditError

__all__ = ["WorkerPool", "prerate_many"]

_SHARED: dict = {}
#: Fewer plans than this are rated in this process: starting workers would cost more than it saves.
_MIN_PARALLEL = 200


def _worker_main(rubric: Rubric, chunks: list[tuple], results: Any) -> None:
    """A worker process (fork or spawn): rate its share of the chunks, sending each result back."""
    _SHARED["rubric"] = rubric
    # what is here now (the modules a spawned worker imported, its chunks of plans) stays to the end:
    # the garbage collector need not walk it again and again while the plans are rated
    gc.freeze()
    try:
        for chunk in chunks:
            pid, part = _work(chunk)
            results.put(("part", pid, part))
    except BaseException as exc:  # reported to the parent, which raises it
        results.put(("error", os.getpid(), f"{type(exc).__name__}: {exc}"))
    results.put(("done", os.getpid(), None))


def _run_workers(rubric: Rubric, chunks: list[tuple], n_proc: int, method: str, total: int,
                 progress: Callable[[int, int], None] | None) -> tuple[list[tuple], set[int]]:
    """Rate *chunks* in *n_proc* processes, chunk i going to process i mod n_proc (every process works)."""
    ctx = mp.get_context(method)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker_main, args=(rubric, chunks[i::n_proc], results), daemon=True)
             for i in range(n_proc)]
    if method == "fork":
        gc.freeze()  # see WorkerPool._start
    try:
        for proc in procs:
            proc.start()
    finally:
        if method == "fork":
            gc.unfreeze()
    out: list[tuple] = []
    pids: set[int] = set()
    finished = done = 0
    try:
        while finished < n_proc:
            try:
                kind, pid, payload = results.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise AuditError(
                        f"An audit worker process stopped unexpectedly (exit code {dead[0].exitcode}); "
                        "no ratings were kept. Run again, or with n_jobs=1."
                    ) from None
                continue
            if kind == "error":
                raise AuditError(f"An audit worker process failed: {payload}. No ratings were kept.")
            if kind == "done":
                finished += 1
                continue
            pids.add(pid)
            out.extend(payload)
            done += sum(row[1] if len(row) == 6 else 1 for row in payload)  # a compact chunk or plans
            if progress is not None:
                progress(done, total)
    finally:
        for proc in procs:
            if proc.is_alive() and finished < n_proc:
                proc.terminate()
            proc.join()
        results.close()
    out.sort(key=lambda row: row[0])
    return out, pids


def _work(args: tuple) -> tuple[int, list[tuple]]:
    start, texts, attrs, compact = args
    rubric = _SHARED["rubric"]
    out = [(start + k, *rated) for k, rated in enumerate(prerate_batch(texts, rubric, attrs))]
    return os.getpid(), [_compact(start, out)] if compact else out


def _compact(start: int, rows: list[tuple]) -> tuple:
    """A chunk's results in columns: ``(start, n, ratings, rules, evidence, coverage)`` - ratings and
    rules flat (plan by plan, criterion by criterion); evidence as (plan index, criterion index, name,
    start, end, sentence start, sentence end) columns, the numbers in int64 arrays; coverage as
    ``[(plan index, coverage)]`` for the plans that have any.  Far smaller to send and to keep than a
    tuple per evidence row."""
    ratings = [r for _, rs_, _, _, _ in rows for r in rs_]
    rules = [r for _, _, ru, _, _ in rows for r in ru]
    plan_i, crit_i, names, nums = [], [], [], []
    for i, _, _, evidence, _ in rows:
        for j, ev_rows in enumerate(evidence):
            for name, *pos in ev_rows:
                plan_i.append(i)
                crit_i.append(j)
                names.append(name)
                nums.extend(pos)
    ev = (np.array(plan_i, dtype=np.int64), np.array(crit_i, dtype=np.int64), names,
          np.array(nums, dtype=np.int64).reshape(-1, 4))
    return start, len(rows), ratings, rules, ev, [(i, cov) for i, _, _, _, cov in rows if cov]


def prerate_many(
    texts: Sequence[str],
    rubric: Rubric,
    *,
    attrs: Sequence[dict] | None = None,
    n_jobs: int = 1,
    chunk_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
    start_method: str | None = None,
    workers: dict | None = None,
    compact: bool = False,
) -> list[tuple]:
    """Pre-rate many plans, optionally in *n_jobs* worker processes; results in input order.

    *attrs* gives each plan's attributes (``{"country": ..., "team": ...}``) for criteria with
    ``applies_to``.  Each result is ``(index, ratings, rules, evidence, coverage)`` as from
    :func:`prerate_text`.

    Worker processes are started with *start_method* (``"fork"``, ``"spawn"`` or ``"forkserver"``;
    default: the platform's, ``spawn`` on macOS and Windows).  The rubric is sent to each worker once
    (its rules pickle as their source text), so every start method works.  The work is cut into at
    least four chunks per worker and dealt out in turn (chunk i to worker i mod n_jobs), so every
    worker rates its share however long the others take to start.  Fewer than
    200 plans are rated in this process (starting workers would cost more than it saves).  If *workers*
    is a dict it receives ``start_method``, ``n_processes`` and ``pids`` (the process ids that rated
    at least one chunk).  With ``compact=True`` the result is one tuple per chunk, in columns (see
    :func:`_compact`), in input order: what a large audit keeps in memory.
    """
    total = len(texts)
    if attrs is not None and len(attrs) != total:
        raise ValueError(f"attrs must give one entry per plan ({total}); got {len(attrs)}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a whole number >= 1; got {n_jobs!r}.")
    parallel = n_jobs > 1 and total >= _MIN_PARALLEL
    if parallel:
        chunk_size = max(1, min(chunk_size, -(-total // (4 * n_jobs))))
    chunks = [
        (i, list(texts[i : i + chunk_size]), list(attrs[i : i + chunk_size]) if attrs is not None else None, compact)
        for i in range(0, total, chunk_size)
    ]
    results: list[tuple] = []
    pids: set[int] = set()
    done = 0
    if progress is not None:
        progress(0, total)
    method = start_method or mp.get_start_method(allow_none=False)
    if start_method is not None and start_method not in mp.get_all_start_methods():
        raise ValueError(
            f"start_method {start_method!r} is not available here; choose one of "
            f"{', '.join(mp.get_all_start_methods())}."
        )
    if not parallel or len(chunks) < 2:
        _SHARED["rubric"] = rubric
        method, n_proc = "none (this process)", 1
        gc.freeze()  # while rating, the collector leaves this process's existing objects alone
        try:
            for chunk in chunks:
                pid, part = _work(chunk)
                pids.add(pid)
                results.extend(part)
                done += len(chunk[1])
                if progress is not None:
                    progress(done, total)
        finally:
            gc.unfreeze()
    else:
        n_proc = min(n_jobs, len(chunks))
        results, pids = _run_workers(rubric, chunks, n_proc, method, total, progress)
    if workers is not None:
        workers.update(start_method=method, n_processes=n_proc, pids=sorted(pids))
    return results


def _pool_worker(inbox: Any, outbox: Any) -> None:
    """A pool process: run ``fn(arg)`` for every task sent to it until told to stop (``None``)."""
    while True:
        item = inbox.get()
        if item is None:
            return
        seq, fn, arg = item
        try:
            outbox.put(("ok", seq, os.getpid(), fn(arg)))
        except BaseException as exc:  # reported to the parent, which raises it
            outbox.put(("error", seq, os.getpid(), f"{type(exc).__name__}: {exc}"))


class WorkerPool:
    """Worker processes that map a module-level function over tasks, in order (fork, spawn or forkserver).

    Task *k* of each :meth:`map` goes to worker *k* mod *n_jobs*, so with at least *n_jobs* tasks every
    worker does some of the work; the process ids that did are collected in :attr:`pids`.  With
    ``n_jobs=1`` the tasks run in this process.  Use as a context manager (the workers are stopped on
    leaving it); the same workers serve every :meth:`map` call, so they start once.

    >>> with WorkerPool(1) as pool:
    ...     pool.map(len, ["ab", "c"])
    [2, 1]
    """

    def __init__(self, n_jobs: int = 1, start_method: str | None = None) -> None:
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ValueError(f"n_jobs must be a whole number >= 1; got {n_jobs!r}.")
        if start_method is not None and start_method not in mp.get_all_start_methods():
            raise ValueError(
                f"start_method {start_method!r} is not available here; choose one of "
                f"{', '.join(mp.get_all_start_methods())}."
            )
        self.n_jobs = n_jobs
        self.start_method = (
            (start_method or mp.get_start_method(allow_none=False)) if n_jobs > 1 else "none (this process)"
        )
        self.pids: set[int] = set()
        self._procs: list = []
        self._inboxes: list = []
        self._outbox = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        ctx = mp.get_context(self.start_method)
        self._outbox = ctx.Queue()
        # a forked worker shares this process's memory until it writes to it; frozen objects are never
        # visited by its garbage collector, so it does not copy (and hold) what it does not use
        frozen = self.start_method == "fork"
        if frozen:
            gc.freeze()
        try:
            for _ in range(self.n_jobs):
                inbox = ctx.Queue()
                proc = ctx.Process(target=_pool_worker, args=(inbox, self._outbox), daemon=True)
                proc.start()
                self._inboxes.append(inbox)
                self._procs.append(proc)
        finally:
            if frozen:
                gc.unfreeze()

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> list:
        """``[fn(t) for t in tasks]``, computed by the workers (*fn* must be importable by name)."""
        if self.n_jobs == 1 or len(tasks) < 2:  # one task: not worth a trip to a worker
            if self.n_jobs == 1:
                self.pids.add(os.getpid())
            return [fn(t) for t in tasks]
        if not self._procs:
            self._start()
        for k, task in enumerate(tasks):
            self._inboxes[k % self.n_jobs].put((k, fn, task))
        out: list = [None] * len(tasks)
        got = 0
        while got < len(tasks):
            try:
                kind, seq, pid, payload = self._outbox.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in self._procs if p.exitcode is not None]
                if dead:
                    self.close()
                    raise AuditError(
                        f"A worker process stopped unexpectedly (exit code {dead[0].exitcode}); nothing was "
                        "written. Run again, or with n_jobs=1."
                    ) from None
                continue
            if kind == "error":
                self.close()
                raise AuditError(f"A worker process failed: {payload}. Nothing was written.")
            self.pids.add(pid)
            out[seq] = payload
            got += 1
        return out

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        for inbox, proc in zip(self._inboxes, self._procs):
            if proc.is_alive():
                try:
                    inbox.put(None)
                except (OSError, ValueError):
                    pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for q in [*self._inboxes, self._outbox]:
            if q is not None:
                q.close()
        self._procs, self._inboxes, self._outbox = [], [], None
