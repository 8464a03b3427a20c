"""The first fine-tune right after a fresh start always works (no import deadlock between the
page's plotting and the training thread): several fresh app processes, each with a fine-tune
started at once."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STARTS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(STARTS))
def test_first_finetune_after_a_fresh_start(attempt, tmp_path):
    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2", "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}
    log = (tmp_path / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        t = time.time()
        while time.time() - t < 120:
            try:
                if urllib.request.urlopen(url, timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        client = Client(url, verbose=False)
        modality, base = [("Text pairs", "text-transformer"), ("Image pairs", "omniglot-cnn"),
                          ("Time-series pairs", "series-lstm")][attempt % 3]
        client.predict(data_type=modality, use_sample=True, upload=None, base=base, epochs=1, patience=0,
                       time_budget_s=10, seed=0, api_name="/start_finetune")
        out = client.submit(api_name="/watch_finetune").result(timeout=240)
        assert "Finished" in out[0] or "kept" in out[0], (out[0], (tmp_path / "app.log").read_text()[-3000:])
        assert "Deadlock" not in (tmp_path / "app.log").read_text()
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
