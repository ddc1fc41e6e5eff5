"""JUnit XML for CI test reporters (GitLab, GitHub marketplace actions): one testcase per case.

``classname`` is ``<dataset>.<intent>`` (GitLab's Suite column comes from it),
``name`` the case id; the grader's reason is the failure message; the run's
shared keys are suite properties.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC
from typing import IO

from evallock.evaluation import EvalOutcome
from evallock.records import CaseResult

__all__ = ["JunitWriter", "junit_xml", "write_junit"]

_MAX_TEXT = 4000


def _clean(text: str | None) -> str:
    # XML 1.0 cannot carry most control characters; hostile output must not break the file.
    if not text:
        return ""
    cleaned = "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)
    return cleaned[:_MAX_TEXT]


def junit_xml(outcome: EvalOutcome) -> str:
    """The run as a JUnit XML document (for small runs; :func:`write_junit` streams)."""
    buffer = io.StringIO()
    write_junit(outcome, buffer)
    return buffer.getvalue()


class JunitWriter:
    """Writes JUnit XML as results are handed to it, one ``testcase`` at a time."""

    def __init__(self, outcome: EvalOutcome, handle: IO[str]) -> None:
        """Write the suites' opening and properties; :meth:`add` each case, then :meth:`close`."""
        gate = outcome.gate
        self._handle = handle
        self._name = outcome.dataset.name
        timestamp = outcome.run.started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        counts = {
            "tests": str(gate.n),
            "failures": str(gate.failed),
            "errors": str(gate.errored),
            "skipped": "0",
            "time": f"{outcome.stats.seconds:.3f}",
            "timestamp": timestamp,
        }
        root = ET.Element("testsuites", {"name": f"evallock {self._name}", **counts})
        suite = ET.SubElement(root, "testsuite", {"name": outcome.dataset.dataset_id, **counts})
        props = ET.SubElement(suite, "properties")
        properties = {
            **outcome.run.keys,
            "run_id": outcome.run.run_id,
            "verdict": gate.verdict,
            "pass_rate": f"{gate.pass_rate:.4f}",
            "pass_rate_ci": f"[{gate.pass_rate_ci.lo:.4f}, {gate.pass_rate_ci.hi:.4f}]",
        }
        if gate.baseline_run_id:
            properties["baseline_run_id"] = gate.baseline_run_id
        for key, value in properties.items():
            ET.SubElement(props, "property", {"name": key, "value": _clean(value)})
        ET.indent(root)
        # The suite always has its properties, so it closes with its own tag: the
        # test cases are written in front of it as they come.
        head, self._tail = ET.tostring(root, encoding="unicode").rsplit(_SUITE_END, 1)
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        handle.write(head)

    def add(self, result: CaseResult, records: object = None) -> None:
        """Write one case (``records`` is accepted so every report writer takes the same)."""
        case = _testcase(result, self._name)
        ET.indent(case, level=2)
        self._handle.write("\n    ")
        self._handle.write(ET.tostring(case, encoding="unicode"))

    def close(self) -> None:
        """Close the suites."""
        self._handle.write(_SUITE_END + self._tail + "\n")


def write_junit(outcome: EvalOutcome, handle: IO[str]) -> None:
    """Write the run as JUnit XML, reading the results once."""
    writer = JunitWriter(outcome, handle)
    for result in outcome.iter_results():
        writer.add(result)
    writer.close()


_SUITE_END = "\n  </testsuite>"


def _testcase(result: CaseResult, name: str) -> ET.Element:
    intent = result.keys.get("intent")
    classname = f"{name}.{intent}" if intent else name
    case = ET.Element("testcase", {"classname": classname, "name": result.case_id})
    if result.lock or result.flaky or result.score is not None:
        case_props = ET.SubElement(case, "properties")
        if result.score is not None:
            ET.SubElement(case_props, "property", {"name": "score", "value": f"{result.score:.3f}"})
        if result.lock:
            ET.SubElement(case_props, "property", {"name": "lock", "value": "true"})
        if result.flaky:
            value = f"{result.trials_passed}/{result.trials}"
            ET.SubElement(case_props, "property", {"name": "flaky", "value": value})
    if result.errored:
        error = ET.SubElement(
            case,
            "error",
            {"message": _clean(result.error), "type": f"evallock.{result.error_kind}_error"},
        )
        error.text = _clean(result.error)
    elif not result.passed:
        kind = "evallock.LockFailure" if result.lock else "evallock.GraderFailure"
        failure = ET.SubElement(case, "failure", {"message": _clean(result.reason), "type": kind})
        failure.text = _clean(result.output)
    return case
