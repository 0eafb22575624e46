"""Faultline's library: every step from log files to datasets, callable without the app."""

__version__ = "0.5.0"

# Modules that register a schema migration's work with mining.store, imported before any workspace
# can open (mining.store imports no stage; see register_migration_step).
import mining.review.state_table  # noqa: E402,F401
