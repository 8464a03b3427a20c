import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(2)

import siamese_demo as sd  # noqa: E402
import synthetic as syn  # noqa: E402


@pytest.fixture(scope="session")
def texts():
    a, b, _ = syn.text_pairs(200, 0)
    return a + b


def tiny_model(modality: str, encoder: str | None = None, texts=None, **kw):
    torch.manual_seed(0)
    if modality == "image":
        opts = dict(depth=2, width=8, embedding_dim=16)
        return sd.build_model("image", encoder, opts, {"size": 32}, **kw)
    if modality == "timeseries":
        opts = dict(hidden_size=16, embedding_dim=16)
        if encoder == "transformer":
            opts.update(num_layers=1, num_heads=2, intermediate_size=32, patch_size=4)
        return sd.build_model("timeseries", encoder, opts, {"length": 48}, **kw)
    opts = dict(hidden_size=16, embedding_dim=16)
    if encoder in (None, "transformer"):
        opts.update(num_layers=1, num_heads=2, intermediate_size=32)
    return sd.build_model("text", encoder, opts, {"max_length": 32}, texts=texts, **kw)


@pytest.fixture
def saved_series_model(tmp_path):
    """A tiny series model saved as a checkpoint folder."""
    model = tiny_model("timeseries")
    model.threshold = 0.5
    return sd.save(model, tmp_path / "ts")


def launch_app():
    """Build the app and serve it on a free local port; yields the URL (for module fixtures)."""
    from siamese_demo.devserver import free_port
    from siamese_demo.ui import build_demo

    demo = build_demo(warm=False)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app_url():
    """The app served on a free local port for one test module (a module may override it)."""
    yield from launch_app()


@pytest.fixture(scope="module")
def client(app_url):
    """A gradio_client session against ``app_url``."""
    from gradio_client import Client

    return Client(app_url, verbose=False)
