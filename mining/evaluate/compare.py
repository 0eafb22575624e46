"""Comparing two runs (say, the production model and its fine-tune) on the golden items both answered.

Why paired: the two runs are scored on the same items, so the question is whether B does better
on those items, not whether two independent samples differ; the bootstrap resamples items and
scores both runs on each resample (mining.evaluate.scores.deltas). An item regressed when B's
points are below A's (correct -> abstained or incorrect, abstained -> incorrect) and improved
when above; per failure mode, each run's accuracy and omniscience index and the change.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from mining.evaluate.runs import RunError, run_scores
from mining.evaluate.scores import POINTS, Delta, deltas, score
from mining.store import Workspace


@dataclass(frozen=True)
class Comparison:
    """Run B against run A: metric deltas, changed items, per-mode figures."""

    a: str
    b: str
    paired: int
    deltas: list[Delta]
    regressed: list[dict[str, Any]]
    improved: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    only_a: int
    only_b: int

    def as_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "paired": self.paired, "only_a": self.only_a, "only_b": self.only_b,
                "deltas": {d.metric: {"a": d.a, "b": d.b, "delta": d.delta, "ci": d.ci} for d in self.deltas},
                "regressed": self.regressed, "improved": self.improved, "clusters": self.clusters}


def _results(workspace: Workspace, name: str) -> dict[str, dict[str, Any]]:
    """record id -> the run's id (as the source gave it), verdict, reason and failure mode."""
    cursor = workspace.cursor()
    cursor.execute("""SELECT e.record_id, coalesce(r.source_id, e.record_id), e.verdict, e.reason, e.cluster_id
                      FROM eval_results e LEFT JOIN records r USING (record_id) WHERE e.run_name = ?""", [name])
    return {record_id: {"id": source_id, "verdict": verdict, "reason": reason, "cluster_id": cluster_id}
            for record_id, source_id, verdict, reason, cluster_id in cursor.fetchall()}


def compare_runs(workspace: Workspace, a: str, b: str) -> Comparison:
    """Run `b` against run `a` (both must be scored). An item's failure mode is the one B scored it
    in; mode names come from the runs' scores."""
    names: dict[int, str | None] = {}
    for name in (a, b):
        scores = run_scores(workspace, name)
        if scores is None:
            raise RunError(f"no scored evaluation run named {name!r}")
        names |= {int(key): value.get("name") for key, value in scores["clusters"].items()}
    first, second = _results(workspace, a), _results(workspace, b)
    paired = sorted(first.keys() & second.keys())
    changed: dict[str, list[dict[str, Any]]] = {"regressed": [], "improved": []}
    by_mode: dict[int, list[str]] = {}
    for record_id in paired:
        before, after = first[record_id], second[record_id]
        mode = after["cluster_id"]
        by_mode.setdefault(mode, []).append(record_id)
        difference = POINTS[after["verdict"]] - POINTS[before["verdict"]]
        if difference:
            changed["regressed" if difference < 0 else "improved"].append({
                "id": before["id"], "cluster_id": mode, "cluster": names.get(mode), "a": before["verdict"],
                "b": after["verdict"], "a_reason": before["reason"], "b_reason": after["reason"]})
    clusters = []
    for mode, ids in sorted(by_mode.items()):
        sa, sb = score([first[i]["verdict"] for i in ids]), score([second[i]["verdict"] for i in ids])
        clusters.append({"cluster_id": mode, "cluster": names.get(mode), "n": len(ids),
                         "a_accuracy": sa["accuracy"], "b_accuracy": sb["accuracy"],
                         "a_omniscience": sa["omniscience_index"], "b_omniscience": sb["omniscience_index"],
                         "omniscience_change": round(sb["omniscience_index"] - sa["omniscience_index"], 4)})
    return Comparison(a, b, len(paired), deltas([first[i]["verdict"] for i in paired],
                                                [second[i]["verdict"] for i in paired]),
                      changed["regressed"], changed["improved"], clusters,
                      len(first.keys() - second.keys()), len(second.keys() - first.keys()))


def _mode_label(row: dict[str, Any]) -> str:
    """A mode's name for a chart axis, html-escaped: names come from log text, and plotly reads tags."""
    return html.escape("unclustered" if row["cluster_id"] == -1 else (row["cluster"] or f"mode {row['cluster_id']}"),
                       quote=False)  # plotly decodes &lt; &gt; &amp; but would show &quot; as typed


def delta_figure(comparison: Comparison) -> go.Figure:
    """Each metric's change (B - A) with its 95% interval; hallucination in points of percentage."""
    scale = {"accuracy": 100.0, "omniscience_index": 1.0, "hallucination_rate": 100.0}
    shown = [d for d in comparison.deltas if d.delta is not None]
    figure = go.Figure(go.Bar(
        x=[d.metric.replace("_", " ") for d in shown], y=[d.delta * scale[d.metric] for d in shown],
        error_y={"type": "data", "symmetric": False,
                 "array": [(d.ci[1] - d.delta) * scale[d.metric] if d.ci else 0 for d in shown],
                 "arrayminus": [(d.delta - d.ci[0]) * scale[d.metric] if d.ci else 0 for d in shown]},
        marker_color=["#2e7d32" if (d.delta > 0) != (d.metric == "hallucination_rate") else "#c62828" for d in shown]))
    figure.update_layout(title=html.escape(f"{comparison.b} minus {comparison.a} (95% interval)", quote=False), yaxis_title="points",
                         height=360, margin={"t": 50, "b": 40})
    return figure


def cluster_figure(comparison: Comparison) -> go.Figure:
    """Omniscience index per failure mode, run A beside run B."""
    labels = [_mode_label(row) for row in comparison.clusters]
    figure = go.Figure([
        go.Bar(name=html.escape(comparison.a, quote=False), x=labels, y=[row["a_omniscience"] for row in comparison.clusters]),
        go.Bar(name=html.escape(comparison.b, quote=False), x=labels, y=[row["b_omniscience"] for row in comparison.clusters])])
    figure.update_layout(barmode="group", title="Omniscience index per failure mode", yaxis_range=[-100, 100],
                         height=420, margin={"t": 50, "b": 120})
    return figure

