"""Drift detection on live traffic: judge a sample of a window against a baseline."""

from evallock.drift._detect import BatchPoint, DetectorRun, run_detectors
from evallock.drift._embedding import EmbeddingDrift, embedding_drift, mmd_permutation_test
from evallock.drift._inputs import KeyShift, key_shift, psi
from evallock.drift._json import drift_report
from evallock.drift._judge import judged_question, judged_session, session_histories
from evallock.drift._report import DriftReport, SliceDrift, build_report
from evallock.drift._run import DriftOutcome, DriftRequest, run_drift
from evallock.drift._sample import Sample, sample_key, sample_traces
from evallock.drift._scores import BAD_SCORE, DriftBaseline, TraceScore
from evallock.drift._webhook import post_webhook, webhook_body
from evallock.drift._window import Window, parse_duration, parse_instant, parse_range, parse_window

__all__ = [
    "BAD_SCORE",
    "BatchPoint",
    "DetectorRun",
    "DriftBaseline",
    "DriftOutcome",
    "DriftReport",
    "DriftRequest",
    "EmbeddingDrift",
    "KeyShift",
    "Sample",
    "SliceDrift",
    "TraceScore",
    "Window",
    "build_report",
    "drift_report",
    "embedding_drift",
    "judged_question",
    "judged_session",
    "key_shift",
    "mmd_permutation_test",
    "parse_duration",
    "parse_instant",
    "parse_range",
    "parse_window",
    "post_webhook",
    "psi",
    "run_detectors",
    "run_drift",
    "sample_key",
    "sample_traces",
    "session_histories",
    "webhook_body",
]
