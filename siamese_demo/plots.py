"""Plotly figure builders: pure functions from numbers to ``go.Figure``."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go


def distance_on_distributions(pos: Sequence[float], neg: Sequence[float], distance: float, threshold: float,
                              kind: str = "distance") -> go.Figure:
    """Histograms of the model's validation distances (same / different pairs), the threshold
    line and where this pair falls."""
    fig = go.Figure()
    if len(pos):
        fig.add_histogram(x=list(pos), name="same pairs (validation)", opacity=0.6, marker_color="#2ca02c",
                          histnorm="probability density", nbinsx=30)
    if len(neg):
        fig.add_histogram(x=list(neg), name="different pairs (validation)", opacity=0.6, marker_color="#d62728",
                          histnorm="probability density", nbinsx=30)
    fig.add_vline(x=threshold, line_dash="dash", line_color="black", annotation_text="threshold")
    fig.add_vline(x=distance, line_width=3, line_color="#1f77b4", annotation_text="this pair",
                  annotation_position="top left")
    fig.update_layout(barmode="overlay", height=300, margin=dict(l=40, r=20, t=60, b=40),
                      xaxis_title=f"{kind} (lower = more similar)", yaxis_title="density",
                      legend=dict(orientation="h", y=1.25, x=0))
    return fig


def series_pair(a: np.ndarray, b: np.ndarray, contrib_a: np.ndarray | None = None,
                contrib_b: np.ndarray | None = None) -> go.Figure:
    """Both series as the model sees them (T, C); optional per-step contributions as shading."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=False, subplot_titles=("first series", "second series"),
                        vertical_spacing=0.15)
    for row, (x, c) in enumerate(((a, contrib_a), (b, contrib_b)), start=1):
        for ch in range(x.shape[1]):
            fig.add_scatter(y=x[:, ch], mode="lines", name=f"{'AB'[row - 1]} ch{ch + 1}", row=row, col=1)
        if c is not None and len(c):
            top = np.abs(c).max() or 1.0
            fig.add_bar(y=np.full(len(c), x.max() - x.min() if x.size else 1.0), base=float(x.min()),
                        marker_color=[f"rgba(255,127,14,{max(v, 0) / top * 0.45:.3f})" for v in c],
                        showlegend=False, hoverinfo="skip", row=row, col=1)
    fig.update_layout(height=380, margin=dict(l=40, r=20, t=40, b=30), bargap=0, showlegend=False)
    return fig


def heatmap_overlay(pixels: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """An RGB uint8 image: the input in grey with the heat in red on top."""
    g = pixels - pixels.min()
    g = g / g.max() if g.max() > 0 else g
    rgb = np.stack([g, g, g], axis=-1) * 0.6
    rgb[..., 0] = np.clip(rgb[..., 0] + heat * 0.9, 0, 1)
    rgb[..., 1] = np.clip(rgb[..., 1] + heat * 0.2, 0, 1)
    img = (rgb * 255).astype(np.uint8)
    return np.kron(img, np.ones((4, 4, 1), dtype=np.uint8))  # upscale for display


def training_curves(history: list[dict]) -> go.Figure:
    """Train/validation loss and validation AUC per epoch."""
    from plotly.subplots import make_subplots

    ep = [h["epoch"] for h in history]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=ep, y=[h.get("train_loss") for h in history], name="train loss")
    fig.add_scatter(x=ep, y=[h.get("val_loss") for h in history], name="validation loss")
    fig.add_scatter(x=ep, y=[h.get("val_auc") for h in history], name="validation AUC", secondary_y=True)
    fig.update_layout(height=300, margin=dict(l=40, r=20, t=30, b=40), xaxis_title="epoch")
    return fig
