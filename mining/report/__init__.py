"""The weekly report: the error-analysis meeting's figures for one period, as a page, an HTML file
and Markdown.

Why a package: gathering the figures (data.py) is SQL over the workspace, while the two file
formats (html.py, markdown.py) and the charts (charts.py) only read the plain data it returns, so
the page, the command line and the files can never tell different stories.
"""

from mining.report.data import WeeklyReport, weekly_report
from mining.report.period import ReportError, ReportPeriod, last_week, period_between, period_for_week
from mining.report.html import render_html
from mining.report.markdown import render_markdown

__all__ = ["ReportError", "ReportPeriod", "WeeklyReport", "last_week", "period_between", "period_for_week",
           "render_html", "render_markdown", "weekly_report"]
