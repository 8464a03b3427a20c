"""The first fine-tune right after a fresh start always works (no import deadlock between the
page's plotting and the training thread): several fresh app processes, each with a fine-tune
started at once."""
import pytest

pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from siamese_demo.devserver import start_app, stop  # noqa: E402

STARTS = 3


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(STARTS))
def test_first_finetune_after_a_fresh_start(attempt, tmp_path):
    log = (tmp_path / "app.log").open("w")
    proc, url = start_app({"OMP_NUM_THREADS": "2", "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}, log=log)
    try:
        client = Client(url, verbose=False)
        modality, base = [("Text pairs", "text-transformer"), ("Image pairs", "omniglot-cnn"),
                          ("Time-series pairs", "series-lstm")][attempt % 3]
        client.predict(data_type=modality, use_sample=True, upload=None, base=base, epochs=1, patience=0,
                       time_budget_s=10, seed=0, api_name="/start_finetune")
        out = client.submit(api_name="/watch_finetune").result(timeout=240)
        assert "Finished" in out[0] or "kept" in out[0], (out[0], (tmp_path / "app.log").read_text()[-3000:])
        assert "Deadlock" not in (tmp_path / "app.log").read_text()
    finally:
        stop(proc)
        log.close()
