"""Plotly figures of a run (imported lazily: the engine itself does not need plotly)."""

from __future__ import annotations

from html import escape
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]  # plotly ships no type hints


def inert(text: str) -> str:
    """Plotly renders a subset of HTML in names and titles (`<a href>`, `<b>`, `<br>`); a
    group id or scenario name may hold any text, so &, < and > become entities, which
    Plotly shows as the characters."""
    return escape(text, quote=False)


def offsets_figure(series: dict[str, Any], title: str) -> go.Figure:
    """Log-end offset, high watermark, committed offset, position and lag over time."""
    fig = go.Figure()
    t = series["t"]
    for name, s in series["partitions"].items():
        fig.add_scatter(x=t, y=s["leo"], name=inert(f"{name} LEO"), line={"shape": "hv"})
        fig.add_scatter(
            x=t, y=s["hw"], name=inert(f"{name} HW"), line={"shape": "hv", "dash": "dot"}
        )
    for name, s in series["groups"].items():
        fig.add_scatter(
            x=t, y=s["committed"], name=inert(f"{name} committed"), line={"shape": "hv"}
        )
        fig.add_scatter(
            x=t,
            y=s["position"],
            name=inert(f"{name} position"),
            line={"shape": "hv", "dash": "dash"},
        )
        fig.add_scatter(
            x=t, y=s["lag"], name=inert(f"{name} lag"), yaxis="y2", line={"shape": "hv", "width": 1}
        )
    fig.update_layout(
        title=inert(title),
        xaxis_title="simulated time (ms)",
        yaxis_title="offset",
        yaxis2={"title": "lag (records)", "overlaying": "y", "side": "right"},
        legend={"orientation": "h"},
    )
    return fig
