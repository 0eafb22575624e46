"""The failure map as a plotly figure: one WebGL scatter trace per failure mode.

Why here and not in the page: the hover text is log text, and plotly reads a few HTML tags in it
(<b>, <br>, <a>...), so escaping it is a rule worth a test of its own, without a browser.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go
import polars as pl

from mining.cluster.views import NOISE


def hover_text(text: str | None, width: int = 80, lines: int = 6) -> str:
    """Log text as plotly hover text: html-escaped (plotly reads <b>, <br>, <a>…), wrapped with <br>."""
    text = " ".join((text or "").split())
    chunks = [text[start:start + width] for start in range(0, len(text), width)][:lines] or ["(no text)"]
    return "<br>".join(html.escape(chunk, quote=False) for chunk in chunks)  # plotly would show &quot; as typed


def map_figure(points: pl.DataFrame) -> go.Figure:
    """One WebGL scatter trace per failure mode, so each has its colour and legend entry."""
    figure = go.Figure()
    for (cluster_id, name), group in points.group_by(["cluster_id", "cluster_name"], maintain_order=True):
        label = "unclustered" if cluster_id is None or cluster_id == NOISE else str(name or f"mode {cluster_id}")
        figure.add_trace(go.Scattergl(
            x=group["x"].to_list(), y=group["y"].to_list(), mode="markers", name=html.escape(label, quote=False),
            customdata=group["record_id"].to_list(), hovertext=[hover_text(text) for text in group["text"]],
            hovertemplate="%{hovertext}<extra>" + html.escape(label[:40], quote=False) + "</extra>",
            marker={"size": 5, "opacity": 0.75, **({"color": "lightgrey"} if label == "unclustered" else {})},
        ))
    figure.update_layout(height=560, margin={"l": 0, "r": 0, "t": 10, "b": 0}, legend={"itemsizing": "constant"},
                         xaxis={"visible": False}, yaxis={"visible": False}, clickmode="event+select")
    return figure
