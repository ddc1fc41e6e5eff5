"""``assert_that(answer)``: evallock's graders on any answer, in any test.

    from evallock import assert_that

    def test_refund_answer():
        answer = my_bot("How long does a refund take?")
        assert_that(answer).icontains("5 business days").not_icontains("30 days")

Each check is the grader of the case-file assertion of the same name (``icontains``,
``regex``, ``is-json``, ``similar`` … and their ``not-`` forms; ``check(type, value,
**options)`` for any, plugins' included), so a test and a golden set judge alike;
``judge(rubric, expected=…)`` asks evallock.yaml's judge, as a judged case does. A
failed check raises :class:`AssertionError` with the grader's reason and the answer.
Every verdict is kept on the expectation (``grades``), and the pytest plugin's
``evallock_expect`` fixture records them as eval records with keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evallock.records import Grade

if TYPE_CHECKING:
    from evallock.session import JudgeSpec

__all__ = ["Expectation", "assert_that"]


@dataclass
class Expectation:
    """An answer and the verdicts of the checks run on it so far."""

    answer: str
    question: str = ""
    """What was asked (the judge reads it)."""
    keys: dict[str, str] = field(default_factory=dict)
    grades: list[Grade] = field(default_factory=list)

    def check(self, kind: str, value: Any = None, **options: Any) -> Expectation:
        """Run the assertion ``kind`` (as a case file spells it) on the answer.

        Raises:
            AssertionError: the check failed (the grader's reason, then the answer).
            ValueError: ``kind`` is unknown or ``value`` is not what it takes.
        """
        import anyio

        from evallock.graders import GradeContext, build_grader, parse_assertion
        from evallock.records import Case, Completion

        raw: dict[str, Any] = {"type": kind, **options}
        if value is not None:
            raw["value"] = value
        assertion = parse_assertion(raw)
        grader = build_grader(assertion)
        case = Case(id="assert_that", input="", asserts=(assertion,), keys=dict(self.keys))
        context = GradeContext(
            case=case,
            output=self.answer,
            completion=Completion(text=self.answer, latency_ms=0.0),
        )
        grade = anyio.run(grader.grade, context)
        self.grades.append(grade)
        if not grade.passed:
            raise AssertionError(f"{grade.name}: {grade.reason}\nanswer: {self.answer}")
        return self

    def judge(
        self,
        rubric: str,
        *,
        expected: str | None = None,
        pass_score: int = 4,
        judge: JudgeSpec | None = None,
    ) -> Expectation:
        """Ask the judge (``judge``, else evallock.yaml's ``judge:``) to grade the answer
        against ``rubric`` (and the reference ``expected``) on its 1–5 scale.

        Raises:
            AssertionError: the score is under ``pass_score``, or the judge's reply was
                not usable (its reason, the score, then the answer).
            ConfigError: no judge is configured.
        """
        import anyio

        from evallock.config import judge_of, load_settings
        from evallock.errors import ConfigError
        from evallock.graders import GradeContext, build_graders
        from evallock.records import Case, CaseJudge, Completion
        from evallock.runner import RetryPolicy
        from evallock.session import make_judge

        spec = judge or judge_of(load_settings())
        if not spec.configured:
            raise ConfigError("judge: give judge.base_url and judge.model (evallock.yaml)")
        case = Case(
            id="assert_that",
            input=self.question or "(not given)",
            expected=expected,
            judge=CaseJudge(rubric=rubric, pass_score=pass_score),
            keys=dict(self.keys),
        )
        grader = build_graders(case, judge_params=spec.params)[-1]

        async def grade() -> Grade:
            provider, client = make_judge(
                spec, concurrency=1, policy=RetryPolicy(), timeout=60.0, seed=0
            )
            try:
                context = GradeContext(
                    case=case,
                    output=self.answer,
                    completion=Completion(text=self.answer, latency_ms=0.0),
                    judge=client,
                )
                return await grader.grade(context)
            finally:
                await provider.aclose()

        verdict = anyio.run(grade)
        self.grades.append(verdict)
        if not verdict.passed:
            score = f" (score {verdict.judge_score}/5)" if verdict.judge_score is not None else ""
            raise AssertionError(f"judge{score}: {verdict.reason}\nanswer: {self.answer}")
        return self

    def __getattr__(self, name: str) -> Any:
        """``.icontains(v)``, ``.not_regex(p)``, ``.is_json()``: :meth:`check` by name."""
        if name.startswith("_"):
            raise AttributeError(name)
        kind = name.replace("_", "-")

        def run(value: Any = None, **options: Any) -> Expectation:
            return self.check(kind, value, **options)

        return run


def assert_that(
    answer: str, *, question: str = "", keys: dict[str, str] | None = None
) -> Expectation:
    """An expectation on ``answer`` (to ``question``); chain checks on it (see the module's
    docstring)."""
    return Expectation(answer=answer, question=question, keys=dict(keys or {}))
