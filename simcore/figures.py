"""Plotly figures of a run (imported lazily: the engine itself does not need plotly)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]  # plotly ships no type hints


def offsets_figure(series: dict[str, Any], title: str) -> go.Figure:
    """Log-end offset, high watermark, committed offset, position and lag over time."""
    fig = go.Figure()
    t = series["t"]
    for name, s in series["partitions"].items():
        fig.add_scatter(x=t, y=s["leo"], name=f"{name} LEO", line={"shape": "hv"})
        fig.add_scatter(x=t, y=s["hw"], name=f"{name} HW", line={"shape": "hv", "dash": "dot"})
    for name, s in series["groups"].items():
        fig.add_scatter(x=t, y=s["committed"], name=f"{name} committed", line={"shape": "hv"})
        fig.add_scatter(
            x=t, y=s["position"], name=f"{name} position", line={"shape": "hv", "dash": "dash"}
        )
        fig.add_scatter(
            x=t, y=s["lag"], name=f"{name} lag", yaxis="y2", line={"shape": "hv", "width": 1}
        )
    fig.update_layout(
        title=title,
        xaxis_title="simulated time (ms)",
        yaxis_title="offset",
        yaxis2={"title": "lag (records)", "overlaying": "y", "side": "right"},
        legend={"orientation": "h"},
    )
    return fig
