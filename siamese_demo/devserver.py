"""Start `python app.py` in its own process on a free local port and wait until it answers: for the
benchmarks and the tests that need a fresh server (as a Space runs it)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env: dict[str, str] | None = None, log: IO | int | None = subprocess.DEVNULL,
              timeout_s: float = 120.0) -> tuple[subprocess.Popen, str]:
    """(process, url) of a fresh `python app.py` on 127.0.0.1, answering; the caller terminates it."""
    port = free_port()
    full_env = {**os.environ, **(env or {}), "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    full_env.setdefault("HF_HUB_OFFLINE", "1")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=full_env, stdout=log,
                            stderr=subprocess.STDOUT if log is not subprocess.DEVNULL else subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode} before answering")
        try:
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"the app did not answer within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
