"""Reports: JSON, JUnit XML, Markdown, and the terminal view (``report.terminal``)."""

from evallock.report._sanitize import terminal_safe
from evallock.report.junit import JunitWriter, junit_xml, write_junit
from evallock.report.markdown import markdown_summary
from evallock.report.run_json import RunReportWriter, run_report, write_run_report

__all__ = [
    "JunitWriter",
    "RunReportWriter",
    "junit_xml",
    "markdown_summary",
    "run_report",
    "terminal_safe",
    "write_junit",
    "write_run_report",
]
