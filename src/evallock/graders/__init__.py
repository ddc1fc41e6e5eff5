"""Graders: assertions, rules against the expected answer, and the LLM judge."""

from __future__ import annotations

from evallock.graders._base import AssertionSpec, GradeContext, Grader, JudgeClient, VerdictCache
from evallock.graders.judge import (
    DRIFT_RUBRIC,
    JUDGE_PROMPT_TEMPLATE,
    REFERENCE_RUBRIC,
    JudgeGrader,
    JudgeParseError,
    JudgeVerdict,
    build_judge_messages,
    judge_answer,
    judge_version,
    parse_judge_reply,
    render_question,
    verdict_key,
)
from evallock.graders.registry import (
    ASSERTION_ALIASES,
    ASSERTION_TYPES,
    build_grader,
    load_plugins,
    parse_assertion,
    register_assertion,
)
from evallock.graders.rules import MATCHES_EXPECTED, normalize_text
from evallock.graders.similarity import EMBEDDINGS_MISSING, Embedder, MiniLMEmbedder
from evallock.graders.suite import (
    Verdict,
    build_graders,
    build_judge_grader,
    case_weights,
    combine,
    run_graders,
)

__all__ = [
    "ASSERTION_ALIASES",
    "ASSERTION_TYPES",
    "DRIFT_RUBRIC",
    "EMBEDDINGS_MISSING",
    "JUDGE_PROMPT_TEMPLATE",
    "MATCHES_EXPECTED",
    "REFERENCE_RUBRIC",
    "AssertionSpec",
    "Embedder",
    "GradeContext",
    "Grader",
    "JudgeClient",
    "JudgeGrader",
    "JudgeParseError",
    "JudgeVerdict",
    "MiniLMEmbedder",
    "Verdict",
    "VerdictCache",
    "build_grader",
    "build_graders",
    "build_judge_grader",
    "build_judge_messages",
    "case_weights",
    "combine",
    "judge_answer",
    "judge_version",
    "load_plugins",
    "normalize_text",
    "parse_assertion",
    "parse_judge_reply",
    "register_assertion",
    "render_question",
    "run_graders",
    "verdict_key",
]
