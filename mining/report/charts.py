"""The report's charts as plotly figures, shared by the Report page and the HTML file.

Why here: the page and the file must draw the same pictures, and mode names are log-derived or
typed by reviewers, so every label is html-escaped (plotly reads <b>, <br>, <a href> in text) in
one place that a test can check without a browser.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from mining.report.data import EvalRun, Mode, Reviews, Volume

CURRENT, PREVIOUS, RATE = "#2563eb", "#cbd5e1", "#dc2626"
LABEL_CHARS = 48


def _layout(figure: go.Figure, height: int, hovermode: str = "x unified") -> go.Figure:
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, template="plotly_white",
                         legend={"orientation": "h", "y": 1.12, "x": 0}, hovermode=hovermode)
    return figure


def _count_axis(title: str, top: int) -> dict:
    """A y axis of counts from zero; whole-number ticks where the counts are small."""
    return {"title": title, "rangemode": "tozero", **({"dtick": 1} if top <= 10 else {})}


def mode_label(mode: Mode) -> str:
    """'#3 refund for cancelled order', cut and escaped: the id keeps two modes of one name apart."""
    name = " ".join(mode.name.split())
    name = name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + "…"
    return html.escape(f"#{mode.id} {name}", quote=False)  # plotly would show &quot; as typed


def volume_figure(volume: Volume) -> go.Figure | None:
    """Failures per day (the previous period in grey) and the failure rate on its own axis."""
    days = volume.previous_days + volume.days
    if not any(day.records for day in days):
        return None
    figure = go.Figure()
    for label, series, colour in (("Failures, period before", volume.previous_days, PREVIOUS),
                                  ("Failures", volume.days, CURRENT)):
        figure.add_trace(go.Bar(x=[day.day for day in series], y=[day.failures for day in series], name=label,
                                marker_color=colour, customdata=[day.records for day in series],
                                hovertemplate="%{y} failures of %{customdata} calls"))
    figure.add_trace(go.Scatter(x=[day.day for day in days], y=[day.failure_rate for day in days], name="Failure rate",
                                yaxis="y2", mode="lines+markers", line={"color": RATE}, connectgaps=False,
                                hovertemplate="%{y:.1%}"))
    figure.update_layout(yaxis=_count_axis("Failures per day", max(day.failures for day in days)),
                         yaxis2={"title": "Failure rate", "overlaying": "y", "side": "right", "tickformat": ".0%",
                                 "rangemode": "tozero", "showgrid": False},
                         xaxis={"tickformat": "%a %d %b"}, barmode="overlay")
    return _layout(figure, 360)


def modes_figure(modes: list[Mode]) -> go.Figure | None:
    """Failures per mode in the period against the period before, biggest mode on top."""
    if not modes:
        return None
    labels = [mode_label(mode) for mode in modes]
    figure = go.Figure()
    figure.add_trace(go.Bar(y=labels, x=[mode.previous for mode in modes], name="Period before", orientation="h",
                            marker_color=PREVIOUS, hovertemplate="%{x}"))
    figure.add_trace(go.Bar(y=labels, x=[mode.failures for mode in modes], name="This period", orientation="h",
                            marker_color=CURRENT, customdata=[mode.status for mode in modes],
                            hovertemplate="%{x} (%{customdata})"))
    figure.update_layout(barmode="group", yaxis={"autorange": "reversed", "automargin": True},
                         xaxis={"title": "Failures", "rangemode": "tozero"})
    return _layout(figure, 120 + 42 * len(modes), "y unified")


def reviews_figure(reviews: Reviews) -> go.Figure | None:
    """Reviews given per day of the period."""
    if not reviews.reviews:
        return None
    figure = go.Figure(go.Bar(x=[day for day, _ in reviews.per_day], y=[n for _, n in reviews.per_day],
                              name="Reviews", marker_color=CURRENT, hovertemplate="%{y} reviews"))
    figure.update_layout(yaxis=_count_axis("Reviews per day", max(n for _, n in reviews.per_day)),
                         xaxis={"tickformat": "%a %d %b"},
                         showlegend=False)
    return _layout(figure, 280)


def _error_bars(values: list[float | None], intervals: list[tuple[float, float] | None]) -> dict:
    """Asymmetric error bars from (low, high) intervals; none where a value or interval is missing."""
    pairs = [(value, ci) if value is not None and ci else (0.0, (0.0, 0.0)) for value, ci in zip(values, intervals)]
    return {"type": "data", "symmetric": False, "array": [high - value for value, (_, high) in pairs],
            "arrayminus": [value - low for value, (low, _) in pairs]}


def evaluation_figure(runs: list[EvalRun]) -> go.Figure | None:
    """Accuracy and hallucination rate of each scored run, with their intervals."""
    scored = [run for run in runs if run.overall is not None]
    if not scored:
        return None
    names = [html.escape(run.name, quote=False) for run in scored]
    figure = go.Figure()
    for label, value, interval, colour in (("Accuracy", "accuracy", "accuracy_ci", CURRENT),
                                           ("Hallucination rate", "hallucination_rate", "hallucination_ci", RATE)):
        values = [getattr(run.overall, value) for run in scored]
        figure.add_trace(go.Bar(x=names, y=values, name=label, marker_color=colour, hovertemplate="%{y:.1%}",
                                error_y=_error_bars(values, [getattr(run.overall, interval) for run in scored])))
    figure.update_layout(barmode="group", yaxis={"tickformat": ".0%", "range": [0, 1]})
    return _layout(figure, 320)
