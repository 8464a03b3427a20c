"""The Gradio app (the only package that imports gradio)."""
from .app import build_demo

__all__ = ["build_demo"]
