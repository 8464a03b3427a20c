"""Training jobs for a shared server: one job runs at a time, others wait in a FIFO queue and can
see their place; every job belongs to one visitor (an owner key), reports its progress through
the engine's events, can be cancelled, and ends as done / cancelled / failed with a message.

Also :class:`VisitorStore`: the models a visitor fine-tuned and their files, kept per owner and
deleted when the visitor leaves or after ``ttl_s`` of inactivity. Nothing here knows about Gradio;
the app creates one runner and one store when it builds the page.
"""
from __future__ import annotations

import itertools
import logging
import shutil
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("siamese_demo.jobs")
QUEUED, RUNNING, DONE, CANCELLED, FAILED = "queued", "running", "done", "cancelled", "failed"


@dataclass
class Job:
    id: str
    owner: str
    work: Callable[["Job"], Any]      # runs in the worker thread; gets the job (events, cancel)
    state: str = QUEUED
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    epochs: list[dict[str, Any]] = field(default_factory=list)   # per-epoch rows from the engine
    marks: list[dict[str, Any]] = field(default_factory=list)    # lr drops, early stop, ...
    progress: dict[str, Any] = field(default_factory=dict)       # epoch, step, steps_per_epoch, epochs
    message: str = ""
    result: Any = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def finished_ok(self) -> bool:
        return self.state in (DONE, CANCELLED) and self.result is not None

    def on_event(self, event) -> None:
        """Engine callback: keep what the page needs to draw progress and curves."""
        if event.kind == "start":
            self.progress.update(event.data, epoch=0, step=0)
        elif event.kind == "step":
            self.progress.update(step=event.step, epoch=event.epoch, loss=event.data.get("loss"))
        elif event.kind == "epoch":
            self.epochs.append(dict(event.data))
            self.progress.update(epoch=event.epoch)
        elif event.kind in ("lr_drop", "early_stop", "time_budget", "cancelled"):
            self.marks.append({"kind": event.kind, "epoch": event.epoch, **event.data})


class JobRunner:
    """A single worker thread, started on first use, running queued jobs one after another."""

    def __init__(self, keep_finished_s: float = 3600.0):
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._jobs: dict[str, Job] = {}
        self._running: Job | None = None
        self._wake = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._left: set[str] = set()   # owners who left while their job was running
        self.keep_finished_s = keep_finished_s

    def submit(self, owner: str, work: Callable[[Job], Any]) -> Job:
        """Queue ``work``; refuses a second unfinished job of the same owner."""
        with self._lock:
            self._forget_old()
            for job in self._jobs.values():
                if job.owner == owner and job.state in (QUEUED, RUNNING):
                    from .errors import DataError

                    raise DataError("you already have a training run in progress; cancel it or wait for it")
            self._left.discard(owner)
            job = Job(f"job-{next(self._ids)}-{int(time.time())}", owner, work)
            self._jobs[job.id] = job
            self._queue.append(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True, name="training-jobs")
                self._thread.start()
            self._wake.notify_all()
            return job

    def get(self, owner: str, job_id: str | None) -> Job | None:
        """The job if it belongs to ``owner`` (no one sees another visitor's job)."""
        with self._lock:
            job = self._jobs.get(job_id or "")
            return job if job is not None and job.owner == owner else None

    def position(self, job: Job) -> int:
        """0 while running (or finished), else 1 + the number of jobs ahead of it."""
        with self._lock:
            if job.state != QUEUED:
                return 0
            ahead = list(self._queue).index(job) if job in self._queue else 0
            return ahead + 1 + (self._running is not None)

    def cancel(self, owner: str, job_id: str | None) -> bool:
        job = self.get(owner, job_id)
        if job is None:
            return False
        with self._lock:
            if job.state == QUEUED:
                self._queue.remove(job)
                job.state, job.finished, job.message = CANCELLED, time.time(), "cancelled before it started"
                return True
        job.cancel.set()
        return job.state == RUNNING

    def drop_owner(self, owner: str) -> None:
        """Cancel and forget every job of a visitor who left."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.owner == owner]
        for job in jobs:
            self.cancel(owner, job.id)
        with self._lock:
            if any(j.state == RUNNING for j in jobs):
                self._left.add(owner)
            for job in jobs:
                if job.state != RUNNING:
                    self._jobs.pop(job.id, None)

    def _forget_old(self) -> None:
        now = time.time()
        for jid in [j.id for j in self._jobs.values()
                    if j.finished is not None and now - j.finished > self.keep_finished_s]:
            del self._jobs[jid]

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    if not self._wake.wait(timeout=60):
                        self._thread = None
                        return
                job = self._queue.popleft()
                self._running = job
                job.state, job.started = RUNNING, time.time()
            try:
                job.result = job.work(job)
                state = CANCELLED if job.cancel.is_set() else DONE
                msg = "cancelled; the best model so far was kept" if state == CANCELLED else "finished"
            except Exception as exc:  # noqa: BLE001 - a failed run must never stop the worker
                from .errors import DataError

                if isinstance(exc, (DataError, FloatingPointError)):  # bad data, or a diverging loss
                    msg = str(exc)
                else:  # internals go to the server log, not to the visitor
                    log.exception("training job %s failed", job.id)
                    msg = ("the run stopped because of an internal error (logged on the server); "
                           "try other settings or data")
                state = FAILED
            with self._lock:
                job.state, job.message, job.finished = state, msg, time.time()
                self._running = None
                if job.owner in self._left:  # its visitor left while it ran: forget it now
                    self._jobs.pop(job.id, None)
                    self._left.discard(job.owner)


class VisitorStore:
    """Per-visitor fine-tuned models and files, deleted on leave or after ``ttl_s`` idle.

    Files live under one app root (mode 0700), one folder per visitor (mode 0700). Writes into a
    visitor's folder go through :meth:`write_in`, which holds that visitor's lock, so a visitor who
    leaves while their run is writing has the folder deleted right after the write, and a run that
    finishes after its visitor left writes nothing. :meth:`sweep` (run by a background thread every
    ``sweep_s``) deletes expired visitors and any folder under the root that no visitor owns.
    """

    def __init__(self, ttl_s: float = 3600.0, root: str | Path | None = None, sweep_s: float = 60.0):
        self.ttl_s = ttl_s
        base = Path(root) if root else Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="siamese_demo_visitors_", dir=base))  # 0700
        self._lock = threading.Lock()
        self._visitors: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        if sweep_s > 0:
            threading.Thread(target=self._sweeper, args=(sweep_s,), daemon=True, name="visitor-sweep").start()

    def _entry(self, owner: str) -> dict[str, Any]:
        entry = self._visitors.get(owner)
        if entry is None:
            folder = Path(tempfile.mkdtemp(prefix="visitor_", dir=self.root))  # 0700, unguessable name
            entry = self._visitors[owner] = {"models": {}, "dir": folder, "lock": threading.Lock()}
        entry["touched"] = time.time()
        return entry

    def folder(self, owner: str) -> Path:
        """A private folder for this visitor's files (created on first use)."""
        with self._lock:
            expired = self._expire()
            folder = self._entry(owner)["dir"]
        self._delete(expired)
        return folder

    def write_in(self, owner: str, write: Callable[[Path], Any]) -> Any | None:
        """Run ``write(folder)`` under the visitor's lock; None (nothing written) if they left."""
        with self._lock:
            entry = self._visitors.get(owner)
            if entry is None:
                return None
            lock, folder = entry["lock"], entry["dir"]
        with lock:
            with self._lock:
                if self._visitors.get(owner) is not entry:
                    return None
            return write(folder)

    def add_model(self, owner: str, name: str, model: Any) -> None:
        with self._lock:
            self._entry(owner)["models"][name] = model

    def model(self, owner: str, name: str) -> Any | None:
        with self._lock:
            entry = self._visitors.get(owner)
            if entry is None:
                return None
            entry["touched"] = time.time()
            return entry["models"].get(name)

    def models(self, owner: str) -> dict[str, Any]:
        """This visitor's models by name (a copy)."""
        with self._lock:
            entry = self._visitors.get(owner)
            if entry is None:
                return {}
            entry["touched"] = time.time()
            return dict(entry["models"])

    def model_names(self, owner: str) -> list[str]:
        return list(self.models(owner))

    def drop(self, owner: str) -> None:
        """The visitor left: forget their models and delete their folder (after a write in progress)."""
        with self._lock:
            entry = self._visitors.pop(owner, None)
        self._delete([entry] if entry is not None else [])

    def _expire(self) -> list[dict[str, Any]]:
        """Forget visitors idle for more than ``ttl_s`` (call with the lock held); returns their entries,
        whose folders the caller deletes with :meth:`_delete` once the lock is released."""
        now = time.time()
        return [self._visitors.pop(o) for o in [o for o, e in self._visitors.items() if now - e["touched"] > self.ttl_s]]

    @staticmethod
    def _delete(entries: list[dict[str, Any]]) -> None:
        """Delete forgotten visitors' folders, each under its visitor's lock (after a write in progress; the
        store's lock is not held, so a writer holding a visitor's lock and waiting for the store's cannot
        deadlock with this)."""
        for entry in entries:
            with entry["lock"]:
                shutil.rmtree(entry["dir"], ignore_errors=True)

    def sweep(self) -> int:
        """Delete expired visitors and every folder under the root that no present visitor owns;
        returns how many folders were deleted. The root is listed and the strays deleted under the store's
        lock, so a visitor's folder created meanwhile is never taken for a stray."""
        with self._lock:
            expired = self._expire()
            owned = {e["dir"].name for e in self._visitors.values()} | {e["dir"].name for e in expired}
            removed = 0
            for p in list(self.root.iterdir()) if self.root.is_dir() else []:
                if p.name not in owned:
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                    removed += 1
        self._delete(expired)
        return removed + len(expired)

    def _sweeper(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - the sweep must never stop
                log.exception("visitor sweep failed")

    def close(self) -> None:
        """Stop the sweep and delete every visitor's files (the app is shutting down)."""
        self._stop.set()
        with self._lock:
            self._visitors.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._visitors)


class DownloadLinks:
    """Unguessable one-time download links that expire: ``issue`` a token for a file of a visitor's,
    ``redeem`` it once within ``ttl_s``. Only the visitor who owns a run is given its links."""

    def __init__(self, ttl_s: float = 600.0):
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._links: dict[str, tuple[str, Path, float]] = {}

    def issue(self, owner: str, path: str | Path) -> str:
        import secrets

        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            for t in [t for t, (_, _, exp) in self._links.items() if exp < now]:
                del self._links[t]
            self._links[token] = (owner, Path(path), now + self.ttl_s)
        return token

    def redeem(self, token: str) -> Path | None:
        """The file for a valid, unused, unexpired token (the token is used up), else None."""
        with self._lock:
            entry = self._links.pop(str(token), None)
        if entry is None:
            return None
        _, path, expires = entry
        return path if time.time() <= expires and path.is_file() else None

    def drop_owner(self, owner: str) -> None:
        with self._lock:
            for t in [t for t, (o, _, _) in self._links.items() if o == owner]:
                del self._links[t]


class Priority:
    """Decisions before explanations on a small CPU: an explanation (dozens of forward passes) waits
    to start while any decision is running, up to ``max_wait_s``; decisions never wait for it.
    One per app; thread-safe."""

    def __init__(self, max_wait_s: float = 0.25):
        self.max_wait_s = max_wait_s
        self._cond = threading.Condition()
        self._deciding = 0

    def decision(self):
        """Context manager around a decision."""
        return _Section(self, True)

    def explanation(self):
        """Context manager around an explanation: waits until no decision is running (or the limit)."""
        return _Section(self, False)


class _Section:
    def __init__(self, prio: Priority, decision: bool):
        self.prio, self.is_decision = prio, decision

    def __enter__(self):
        p = self.prio
        with p._cond:
            if self.is_decision:
                p._deciding += 1
            else:
                p._cond.wait_for(lambda: p._deciding == 0, timeout=p.max_wait_s)
        return self

    def __exit__(self, *exc):
        if self.is_decision:
            with self.prio._cond:
                self.prio._deciding -= 1
                self.prio._cond.notify_all()
        return False
