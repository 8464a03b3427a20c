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
    # the two labels sit at different heights, each on the outer side of its line, so they never overlap
    left_of = distance < threshold
    fig.add_vline(x=threshold, line_dash="dash", line_color="black", annotation_text="threshold",
                  annotation_position="top right" if left_of else "top left", annotation_y=1.0)
    fig.add_vline(x=distance, line_width=3, line_color="#1f77b4", annotation_text="this pair",
                  annotation_position="bottom left" if left_of else "bottom right", annotation_y=0.55)
    fig.update_layout(barmode="overlay", height=300, margin=dict(l=40, r=20, t=30, b=80),
                      xaxis_title=f"{kind} (lower = more similar)", yaxis_title="density",
                      legend=dict(orientation="h", y=-0.3, x=0))
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


def training_curves(history: list[dict], marks: Sequence[dict] = ()) -> go.Figure:
    """Per epoch: train and validation loss, validation AUC, learning rate (log scale); LR drops
    and the early-stopping / budget / cancel point marked as vertical lines."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=3, subplot_titles=("loss", "validation AUC", "learning rate"),
                        horizontal_spacing=0.08)
    ep = [h["epoch"] for h in history]
    fig.add_scatter(x=ep, y=[h.get("train_loss") for h in history], name="train loss", row=1, col=1)
    fig.add_scatter(x=ep, y=[h.get("val_loss") for h in history], name="validation loss", row=1, col=1)
    fig.add_scatter(x=ep, y=[h.get("val_auc") for h in history], name="validation AUC", row=1, col=2)
    if any("val_spearman" in h for h in history):
        fig.add_scatter(x=ep, y=[h.get("val_spearman") for h in history], name="validation Spearman", row=1, col=2)
    fig.add_scatter(x=ep, y=[h.get("lr") for h in history], name="learning rate", row=1, col=3)
    fig.update_yaxes(type="log", row=1, col=3)
    labels = {"lr_drop": "LR drop", "early_stop": "early stop", "time_budget": "time budget",
              "cancelled": "cancelled"}
    for m in marks:
        for col in (1, 2, 3):
            label = {"annotation_text": labels.get(m["kind"], m["kind"])} if col == 1 else {}  # no empty labels
            fig.add_vline(x=m["epoch"], line_dash="dot", line_color="grey" if m["kind"] == "lr_drop" else "black",
                          row=1, col=col, **label)
    aucs = [v for h in history for v in (h.get("val_auc"), h.get("val_spearman")) if v is not None]
    if aucs:  # at least 0.1 wide, so tiny wobbles near 1 do not look like big moves
        lo = min(min(aucs), 0.9)
        fig.update_yaxes(range=[lo - 0.02, 1.005], row=1, col=2)
    fig.update_layout(height=320, margin=dict(l=40, r=20, t=40, b=40), legend=dict(orientation="h", y=-0.2))
    fig.update_xaxes(title_text="epoch")
    return fig


def roc_curves(curves: dict[str, dict]) -> go.Figure:
    """ROC curves, one per model: ``{"base": {"fpr", "tpr", "auc"}, ...}``."""
    fig = go.Figure()
    for name, c in curves.items():
        fig.add_scatter(x=c["fpr"], y=c["tpr"], mode="lines", name=f"{name} (AUC {c['auc']:.3f})")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"), name="chance")
    fig.update_layout(height=340, margin=dict(l=40, r=20, t=40, b=40), title="ROC on the test split",
                      xaxis_title="false accept rate", yaxis_title="true accept rate")
    return fig


def distance_histograms(models: dict[str, dict]) -> go.Figure:
    """Same / different test-pair distances per model, with each model's threshold."""
    from plotly.subplots import make_subplots

    names = list(models)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names)
    for col, name in enumerate(names, start=1):
        m = models[name]
        fig.add_histogram(x=m["distances"]["positive"], name="same", marker_color="#2ca02c", opacity=0.6,
                          showlegend=col == 1, row=1, col=col, nbinsx=30)
        fig.add_histogram(x=m["distances"]["negative"], name="different", marker_color="#d62728", opacity=0.6,
                          showlegend=col == 1, row=1, col=col, nbinsx=30)
        fig.add_vline(x=m["threshold"], line_dash="dash", row=1, col=col, annotation_text="threshold")
    fig.update_layout(barmode="overlay", height=340, margin=dict(l=40, r=20, t=60, b=70),
                      title="Test-pair distances (lower = more similar)", legend=dict(orientation="h", y=-0.25, x=0))
    return fig


def projection(points: dict[str, dict]) -> go.Figure:
    """2-D projections of test embeddings coloured by class: ``{"base": {"x","y","label"}, ...}``."""
    from plotly.subplots import make_subplots

    names = list(points)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[f"{n} (PCA)" for n in names])
    classes = sorted({lab for p in points.values() for lab in p["label"]})
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf"]
    for col, name in enumerate(names, start=1):
        p = points[name]
        for k, c in enumerate(classes):
            idx = [i for i, lab in enumerate(p["label"]) if lab == c]
            fig.add_scatter(x=[p["x"][i] for i in idx], y=[p["y"][i] for i in idx], mode="markers", name=c,
                            marker=dict(color=palette[k % len(palette)], size=6), legendgroup=c,
                            showlegend=col == 1, row=1, col=col)
    fig.update_layout(height=360, margin=dict(l=40, r=20, t=40, b=40), title="Test embeddings by class")
    return fig
