"""Reports: JSON, JUnit XML, Markdown, and the terminal view (``report.terminal``)."""

from evallock.report.junit import junit_xml
from evallock.report.markdown import markdown_summary
from evallock.report.run_json import run_report

__all__ = ["junit_xml", "markdown_summary", "run_report"]
