"""Plotly figure builders: pure functions from numbers to ``go.Figure``."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .distances import round_distances


def distance_on_distributions(pos: Sequence[float], neg: Sequence[float], distance: float, threshold: float,
                              kind: str = "distance", bins: int = 30) -> go.Figure:
    """Histograms of the model's validation distances (same / different pairs, as densities over
    shared bins), the threshold line and where this pair falls. Built from plain dicts in one go,
    binned here: plotly's add_vline/update_layout path took about 12 ms per figure, a third of an
    explanation's server time under load, and the raw distances made the page's JSON ten times larger."""
    values = [np.asarray(v, dtype=float) for v in (pos, neg)]
    both = np.concatenate(values + [np.array([distance, threshold], dtype=float)])
    edges = np.linspace(both.min(), both.max(), bins + 1) if np.ptp(both) > 0 else np.array([both[0] - 0.5, both[0] + 0.5])
    centers, width = (edges[:-1] + edges[1:]) / 2, float(edges[1] - edges[0])
    data = []
    for v, name, colour in zip(values, ("same pairs (validation)", "different pairs (validation)"),
                               ("#2ca02c", "#d62728")):
        if len(v):
            dens, _ = np.histogram(v, bins=edges, density=True)
            data.append(dict(type="bar", x=round_distances(centers, 6), y=np.round(dens, 5).tolist(), width=width,
                             name=name, opacity=0.6, marker=dict(color=colour)))
    # the two labels sit at different heights, each on the outer side of its line, so they never overlap
    left_of = distance < threshold
    line = lambda x, **style: dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=style)  # noqa: E731
    label = lambda x, y, text, right: dict(x=x, y=y, xref="x", yref="paper", text=text, showarrow=False,  # noqa: E731
                                           xanchor="left" if right else "right", yanchor="top")
    layout = dict(barmode="overlay", bargap=0, height=300, margin=dict(l=40, r=20, t=30, b=80),
                  xaxis=dict(title=dict(text=f"{kind} (lower = more similar)")),
                  yaxis=dict(title=dict(text="density")), legend=dict(orientation="h", y=-0.3, x=0),
                  shapes=[line(threshold, dash="dash", color="black"), line(distance, width=3, color="#1f77b4")],
                  annotations=[label(threshold, 1.0, "threshold", left_of),
                               label(distance, 0.55, "this pair", not left_of)])
    return go.Figure(data=data, layout=layout)


# orange, from clear to 45 % opaque; every stop keeps the colour (an alpha of exactly 0 turns the
# interpolated colours grey in plotly.js)
SHADING = [[k / 4, f"rgba(255,127,14,{max(0.001, 0.45 * k / 4):.3f})"] for k in range(5)]


def series_pair(a: np.ndarray, b: np.ndarray, contrib_a: np.ndarray | None = None,
                contrib_b: np.ndarray | None = None) -> go.Figure:
    """Both series as the model sees them (T, C), one above the other; optional per-step
    contributions as shading. Built from plain dicts (make_subplots and per-bar colour validation
    were most of its time)."""
    data, annotations = [], []
    for row, (x, c) in enumerate(((a, contrib_a), (b, contrib_b)), start=1):
        ax = "" if row == 1 else "2"
        for ch in range(x.shape[1]):
            data.append(dict(type="scatter", y=np.round(x[:, ch], 5).tolist(), mode="lines",
                             name=f"{'AB'[row - 1]} ch{ch + 1}", xaxis=f"x{ax}", yaxis=f"y{ax}"))
        if c is not None and len(c):
            top = float(np.abs(c).max()) or 1.0
            span = float(x.max() - x.min()) if x.size else 1.0
            data.append(dict(type="bar", y=[span] * len(c), base=float(x.min()) if x.size else 0.0,
                             marker=dict(color=np.round(np.clip(c, 0, None) / top, 4).tolist(), cmin=0, cmax=1,
                                         line=dict(width=0), colorscale=SHADING),
                             showlegend=False, hoverinfo="skip", xaxis=f"x{ax}", yaxis=f"y{ax}"))
        annotations.append(dict(text=("first series", "second series")[row - 1], showarrow=False, xref="paper",
                                yref="paper", x=0.5, xanchor="center", yanchor="bottom",
                                y=(1.0, 0.425)[row - 1]))
    layout = dict(height=380, margin=dict(l=40, r=20, t=40, b=30), bargap=0, showlegend=False,
                  xaxis=dict(anchor="y"), yaxis=dict(domain=[0.575, 1.0], anchor="x"),
                  xaxis2=dict(anchor="y2"), yaxis2=dict(domain=[0.0, 0.425], anchor="x2"),
                  annotations=annotations)
    return go.Figure(data=data, layout=layout)


HEATMAP_MIN_SIDE = 192  # a heatmap smaller than this is enlarged by a whole factor (pixel blocks) for display


def heatmap_overlay(pixels: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """An RGB uint8 image: the input in grey with the heat in red on top, enlarged by the smallest whole factor
    that makes its longer side at least :data:`HEATMAP_MIN_SIDE` (a 48 px input x 4; a 224 or 384 px input as
    it is, so a large model's overlay does not become a multi-megabyte picture)."""
    g = pixels - pixels.min()
    g = g / g.max() if g.max() > 0 else g
    rgb = np.stack([g, g, g], axis=-1) * 0.6
    rgb[..., 0] = np.clip(rgb[..., 0] + heat * 0.9, 0, 1)
    rgb[..., 1] = np.clip(rgb[..., 1] + heat * 0.2, 0, 1)
    img = (rgb * 255).astype(np.uint8)
    factor = max(1, -(-HEATMAP_MIN_SIDE // max(img.shape[:2])))
    return img if factor == 1 else np.kron(img, np.ones((factor, factor, 1), dtype=np.uint8))


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
    for k, m in enumerate(marks):
        for col in (1, 2, 3):
            # no empty labels; each mark's label one line lower than the one before, so that marks at
            # the same epoch (an LR drop, then the early stop) do not print over each other
            label = {"annotation_text": labels.get(m["kind"], m["kind"]), "annotation_y": 1.0 - 0.09 * (k % 4),
                     "annotation_yanchor": "top"} if col == 1 else {}
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
