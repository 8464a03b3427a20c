"""Visitors' files: private folders (0700) under one app root, deleted when the visitor leaves
(after a write in progress), never recreated by a run that ends later, swept when orphaned; one-time
download links that expire; failed runs show no internals."""
import stat
import threading
import time
from pathlib import Path

from siamese_demo.errors import DataError
from siamese_demo.jobs import CANCELLED, DONE, FAILED, DownloadLinks, JobRunner, VisitorStore


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_folders_are_private_and_deleted_on_leave(tmp_path):
    store = VisitorStore(root=tmp_path, sweep_s=0)
    a, b = store.folder("alice"), store.folder("bob")
    assert a != b and a.parent == b.parent == store.root
    assert _mode(store.root) == 0o700 and _mode(a) == 0o700 and _mode(b) == 0o700
    (a / "x.txt").write_text("mine")
    store.drop("alice")
    assert not a.exists() and b.exists()


def test_a_run_that_ends_after_its_visitor_left_writes_nothing(tmp_path):
    store = VisitorStore(root=tmp_path, sweep_s=0)
    store.folder("alice")
    store.drop("alice")
    assert store.write_in("alice", lambda f: (f / "model.zip").write_text("x")) is None
    assert list(store.root.iterdir()) == []


def _writing(store, owner):
    """A write into ``owner``'s folder that has started and waits for the returned event: (thread, release)."""
    started, release = threading.Event(), threading.Event()

    def slow_write(f):
        started.set()
        release.wait(5)
        (f / "model.zip").write_text("x")
        return f / "model.zip"

    t = threading.Thread(target=lambda: store.write_in(owner, slow_write))
    t.start()
    started.wait(5)
    return t, release


def test_leave_during_a_write_deletes_after_the_write(tmp_path):
    store = VisitorStore(root=tmp_path, sweep_s=0)
    folder = store.folder("alice")
    t, release = _writing(store, "alice")
    dropper = threading.Thread(target=store.drop, args=("alice",))
    dropper.start()
    time.sleep(0.1)
    assert dropper.is_alive()  # waits for the write to finish
    release.set()
    t.join(5), dropper.join(5)
    assert not folder.exists()


def test_sweep_deletes_orphans_and_expired_visitors(tmp_path):
    store = VisitorStore(ttl_s=0.05, root=tmp_path, sweep_s=0)
    stale = store.folder("alice")
    orphan = store.root / "left_by_a_crash"
    orphan.mkdir()
    time.sleep(0.1)
    fresh_store_owner = store.folder("bob")  # bob is active; alice expired
    assert store.sweep() >= 1
    assert not orphan.exists() and not stale.exists() and fresh_store_owner.exists()


def test_models_are_per_visitor(tmp_path):
    store = VisitorStore(root=tmp_path, sweep_s=0)
    store.add_model("alice", "yours: m", object())
    assert set(store.models("alice")) == {"yours: m"} and store.models("bob") == {}


def test_download_links_work_once_and_expire(tmp_path):
    f = tmp_path / "m.zip"
    f.write_bytes(b"zip")
    links = DownloadLinks(ttl_s=60)
    t1, t2 = links.issue("alice", f), links.issue("alice", f)
    assert t1 != t2 and len(t1) >= 40
    assert links.redeem(t1) == f and links.redeem(t1) is None  # one time
    assert links.redeem("made-up") is None
    short = DownloadLinks(ttl_s=0.01)
    t3 = short.issue("alice", f)
    time.sleep(0.05)
    assert short.redeem(t3) is None  # expired
    links.drop_owner("alice")
    assert links.redeem(t2) is None  # the visitor left


def _run(work, owner="alice"):
    runner = JobRunner()
    job = runner.submit(owner, work)
    for _ in range(200):
        if job.state in (DONE, FAILED, CANCELLED):
            break
        time.sleep(0.02)
    return runner, job


def test_failed_run_messages_show_no_internals():
    def boom(job):
        raise RuntimeError("CUDA error at /secret/path/file.py:12")

    _, job = _run(boom)
    assert job.state == FAILED and "internal error" in job.message
    assert "/secret" not in job.message and "RuntimeError" not in job.message

    def bad_data(job):
        raise DataError("row 3: label 'x' is not a number")

    _, job = _run(bad_data)
    assert job.state == FAILED and job.message == "row 3: label 'x' is not a number"


def test_a_job_whose_visitor_left_is_forgotten_when_it_stops():
    go = threading.Event()

    def work(job):
        go.wait(5)
        return "result"

    runner = JobRunner()
    job = runner.submit("alice", work)
    while job.state != "running":
        time.sleep(0.01)
    runner.drop_owner("alice")
    assert job.cancel.is_set()
    go.set()
    for _ in range(200):
        if job.finished:
            break
        time.sleep(0.02)
    time.sleep(0.05)
    assert runner.get("alice", job.id) is None


def test_a_diverging_loss_is_reported_in_plain_words():
    def diverge(job):
        raise FloatingPointError("the loss became nan at epoch 1, step 3; the run was stopped. "
                                 "Try a lower learning rate")

    _, job = _run(diverge)
    assert job.state == FAILED and job.message.endswith("Try a lower learning rate")


def test_explanations_wait_for_running_decisions():
    from siamese_demo.jobs import Priority

    prio = Priority(max_wait_s=5)
    order = []
    inside = threading.Event()
    release = threading.Event()

    def decide():
        with prio.decision():
            inside.set()
            release.wait(5)
            order.append("decision done")

    def explain():
        with prio.explanation():
            order.append("explanation started")

    d = threading.Thread(target=decide)
    d.start()
    inside.wait(5)
    e = threading.Thread(target=explain)
    e.start()
    time.sleep(0.2)
    assert order == []  # the explanation waits while the decision runs
    release.set()
    d.join(5), e.join(5)
    assert order == ["decision done", "explanation started"]
    short = Priority(max_wait_s=0.05)
    with short.decision():
        t = time.time()
        with short.explanation():  # never waits longer than max_wait_s
            assert time.time() - t < 1


def test_expiry_during_a_write_deletes_after_the_write_and_spares_new_visitors(tmp_path):
    store = VisitorStore(ttl_s=0.05, root=tmp_path, sweep_s=0)
    folder = store.folder("alice")
    t, release = _writing(store, "alice")
    time.sleep(0.1)  # alice is now idle past the time-to-live
    sweeper = threading.Thread(target=store.sweep)
    sweeper.start()
    time.sleep(0.1)
    assert sweeper.is_alive() and folder.exists()  # the sweep waits for the write ...
    bob = store.folder("bob")  # ... without holding up other visitors
    release.set()
    t.join(5), sweeper.join(5)
    assert not folder.exists() and bob.exists()
    assert store.sweep() == 0 and bob.exists()
