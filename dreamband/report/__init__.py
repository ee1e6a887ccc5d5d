"""Reports: static HTML with plots, from the tables of a batch run."""

from dreamband.report.html import write_report

__all__ = ["write_report"]
