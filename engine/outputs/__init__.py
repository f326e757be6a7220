"""What a stored run becomes: dataset exports, quality metrics and the HTML report."""

from engine.outputs.export import FORMATS, ExportError, ExportSummary, export_run
from engine.outputs.quality import run_quality
from engine.outputs.report import ReportError, metrics_path, write_report

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportSummary",
    "ReportError",
    "export_run",
    "metrics_path",
    "run_quality",
    "write_report",
]
