"""Ingest: log files in (six shapes, any container), canonical records out, one transaction per
file; bad lines are quarantined with their reason, never dropped and never misfiled.

The pages and the command line use what is named here.
"""

from mining.ingest.containers import FileProblem, list_log_files
from mining.ingest.file_report import IngestReport
from mining.ingest.pipeline import FilePreview, ingest_file, ingest_paths, preview_file
from mining.ingest.plan import FilePlan, ingest_plans
from mining.ingest.record import JSON_COLUMNS, RECORD_COLUMNS
from mining.ingest.shapes import shape_labels
from mining.ingest.shapes.generic import MAPPABLE_FIELDS, ColumnMapping

__all__ = ["JSON_COLUMNS", "MAPPABLE_FIELDS", "RECORD_COLUMNS", "ColumnMapping", "FilePlan", "FilePreview",
           "FileProblem", "IngestReport", "ingest_file", "ingest_paths", "ingest_plans", "list_log_files",
           "preview_file", "shape_labels"]
