"""``evallock demo``: the whole gate on the bundled example service, with the embedded store."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from evallock.ab import ABOutcome
    from evallock.config import Settings

__all__ = ["demo"]


def demo(
    workdir: Annotated[
        Path, typer.Option(help="Where the example project is copied (recreated).")
    ] = Path(".evallock/demo"),
) -> int:
    """Run the bundled example: the gate passes on the good prompt, fails on the regressed one,
    and an A/B comparison of the two shows the paired statistics.

    The example is a support bot with two prompt versions. support-v4 answers two
    consumer questions that support-v3 missed, but it broke the enterprise refund
    policy, which a lock case (a fixed bug, pinned to its trace) guards.

    Example: evallock demo
    """
    from rich.rule import Rule

    from evallock.cli._common import out_console
    from evallock.cli._run import execute
    from evallock.config import Settings
    from evallock.demo import example_dir, start_fake_service
    from evallock.evaluation import EvalRequest
    from evallock.gate import GateThresholds
    from evallock.report import terminal_safe
    from evallock.session import JudgeSpec, TargetSpec

    console = out_console()
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(example_dir(), workdir)
    settings = Settings(store=f"sqlite:///{workdir / 'evallock.db'}")
    verdicts: dict[str, int] = {}
    with start_fake_service() as service:
        # The work directory is the user's path: printed as it is, never read as markup.
        console.print(
            f"example service (deterministic, bundled) at {service.base_url}", markup=False
        )
        console.print(
            terminal_safe(f"example project copied to {workdir}, store {settings.store}\n"),
            markup=False,
        )
        for version in ("support-v3", "support-v4"):
            console.print(Rule(f"evallock run golden.jsonl --prompt prompts/{version}.txt"))
            request = EvalRequest(
                cases=str(workdir / "golden.jsonl"),
                target=TargetSpec(
                    base_url=service.base_url,
                    model="support-bot",
                    prompt=str(workdir / "prompts" / f"{version}.txt"),
                    keys={"prompt_version": version, "model_version": "support-bot@demo"},
                ),
                judge=JudgeSpec(base_url=service.base_url, model="judge"),
                thresholds=GateThresholds(min_pass_rate=0.9, max_new_failures=0),
            )
            verdicts[version] = execute(
                request,
                settings_store=settings,
                markdown=workdir / f"{version}.md",
                junit=workdir / f"{version}.junit.xml",
            )
            console.print()
        console.print(
            Rule(
                "evallock ab golden.jsonl --a prompt=support-v3 --b prompt=support-v4 --by customer_tier"
            )
        )
        comparison = _compare(workdir, service.base_url, settings)
    console.print(Rule("what happened"))
    ok = verdicts.get("support-v3") == 0 and verdicts.get("support-v4") == 1
    console.print(
        terminal_safe(
            "support-v3 passed the gate and became the baseline; support-v4 failed it: the lock\n"
            "case that guards the enterprise refund bug failed again, and cases that passed on\n"
            "the baseline fail now. In CI that exit code (1) blocks the deploy.\n"
            f"Reports: {workdir}/support-v4.md, {workdir}/support-v4.junit.xml\n"
            f"The A/B comparison says {comparison.overall.verdict!r} overall at this n (28 pairs),"
            " with the enterprise slice's drop shown per slice: a paired test, not eyeballing."
        ),
        markup=False,
    )
    return 0 if ok else 1


def _compare(workdir: Path, base_url: str, settings: Settings) -> ABOutcome:
    """The A/B step of the demo: v3 against v4 on the same cases, by customer tier."""
    from evallock.ab import ABRequest, apply_spec, compare_variants
    from evallock.cli._common import open_store_for, out_console
    from evallock.report.ab import ab_markdown
    from evallock.report.ab_terminal import print_comparison
    from evallock.session import JudgeSpec, TargetSpec

    base = TargetSpec(
        base_url=base_url, model="support-bot", keys={"model_version": "support-bot@demo"}
    )
    variants = [
        apply_spec(
            name,
            base,
            f"prompt={workdir / 'prompts' / f'{version}.txt'},key.prompt_version={version}",
            flag=f"--{name.lower()}",
        )
        for name, version in (("A", "support-v3"), ("B", "support-v4"))
    ]
    request = ABRequest(
        cases=str(workdir / "golden.jsonl"),
        a=variants[0],
        b=variants[1],
        judge=JudgeSpec(base_url=base_url, model="judge"),
        by=("customer_tier",),
        min_slice_pairs=5,
    )
    store = open_store_for(settings)
    try:
        outcome = compare_variants(request, store)
    finally:
        store.close()
    print_comparison(outcome, out_console())
    (workdir / "ab.md").write_text(ab_markdown(outcome), encoding="utf-8")
    return outcome
