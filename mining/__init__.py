"""Faultline's library: every step from log files to datasets, callable without the app."""

__version__ = "0.5.0"
