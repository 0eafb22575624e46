"""Clustering: the failures grouped into failure modes (what was asked) and failure kinds (what
went wrong in the answer), with names, impact, a stable identity from
run to run (a mode keeps its id and its reviewer's name), a 2-D map and similar-call search.

The pages and the command line use what is named here. `map_figure` loads plotly, so it is
imported only when a page draws the map.
"""

from typing import Any

from mining.cluster.algorithms import ALGORITHMS, ModeReach, within_reach
from mining.cluster.identity import trend
from mining.cluster.kind_views import ModeKindTable, kind_names, kinds_of_mode, list_kinds, mode_kind_table
from mining.cluster.kinds import OTHER as OTHER_KIND
from mining.cluster.merge_views import forget_keep_apart, keep_apart, list_keep_apart, mode_parts
from mining.cluster.model_names import NamingReport, name_with_model
from mining.cluster.run import SCOPES, ClusteringError, ClusterSettings, RunSummary, run_clustering
from mining.cluster.sample_fit import FIT_SAMPLE, RowAssigner, chunk_bounds
from mining.cluster.similar import similar_records
from mining.cluster.views import (NOISE, cluster_detail, example_texts, latest_run, list_clusters, map_points,
                                  member_source_ids, membership_sql, mode_names, rename_cluster, source_ids)

__all__ = ["ALGORITHMS", "FIT_SAMPLE", "NOISE", "OTHER_KIND", "SCOPES", "ClusterSettings", "ClusteringError",
           "ModeKindTable", "ModeReach", "NamingReport", "RowAssigner", "RunSummary", "chunk_bounds",
           "cluster_detail", "example_texts", "forget_keep_apart", "keep_apart", "kind_names", "kinds_of_mode",
           "latest_run", "list_clusters", "list_keep_apart", "list_kinds", "map_figure", "map_points",
           "member_source_ids", "membership_sql", "mode_kind_table", "mode_names", "mode_parts", "name_with_model",
           "rename_cluster", "run_clustering", "similar_records", "source_ids", "trend", "within_reach"]


def __getattr__(name: str) -> Any:
    """`map_figure` on first use: plotly is heavy, and most callers never draw the map."""
    if name == "map_figure":
        from mining.cluster.chart import map_figure

        return map_figure
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
