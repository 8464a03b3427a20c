"""Start `python app.py` in its own process on a free local port and wait until it answers: for the
benchmarks and the tests that need a fresh server (as a Space runs it); and a headless browser to look
at it (the browser tests, scripts/screenshots.py)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
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


def chromium(width: int, height: int = 2400, hide_scrollbars: bool = False):
    """Headless Debian chromium (with chromium-driver) through Selenium, ``width`` CSS pixels wide.
    Headless windows are at least 500 px wide, so narrower widths emulate a phone's viewport."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--window-size={width},{height}", f"--user-data-dir={tempfile.mkdtemp()}"]
    for flag in flags + (["--hide-scrollbars"] if hide_scrollbars else []):
        opts.add_argument(flag)
    if width < 500:
        opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height - 600,
                                                                           "pixelRatio": 1.0}})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
