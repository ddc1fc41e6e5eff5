"""``evallock labels`` and ``evallock calibration``: people's labels of judged answers, and
how well the judge agrees with them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evallock.cli._options import ConfigOption, StoreOption

__all__ = ["calibration", "labels_app"]

labels_app = typer.Typer(
    help="People's 1-5 labels of judged answers, to calibrate the judge.", no_args_is_help=True
)


@labels_app.command("sample")
def sample(
    evaluator: Annotated[str, typer.Option(help="The online evaluator whose verdicts to check.")],
    out: Annotated[Path, typer.Option(help="Write the rows to label here (JSONL).")],
    n: Annotated[int, typer.Option(min=1, max=100_000, help="How many answers.")] = 50,
    since: Annotated[
        str, typer.Option(help="Verdicts since: ISO 8601 or a duration back (7d).")
    ] = "30d",
    seed: Annotated[int, typer.Option(help="Picks the sample; the same seed, the same rows.")] = 0,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Write a uniform random sample of an evaluator's judged traces for people to score:
    each row has the subject, the question and the answer, and empty score, reviewer and
    note fields, never the judge's score (labelling blind). Fill in score (1-5) and
    import the file with `evallock labels import`.

    Example: evallock labels sample --evaluator refund-quality --n 50 --out to-label.jsonl
    """
    from datetime import UTC, datetime

    import orjson

    from evallock.cli._common import load, open_store_for
    from evallock.drift import parse_instant
    from evallock.labels import sample_for_labels

    settings = load(config, store)
    start = parse_instant(since, now=datetime.now(UTC), flag="--since")
    with open_store_for(settings) as opened:
        rows = sample_for_labels(opened, evaluator, n=n, since=start, seed=seed)
    out.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    print(f"wrote {len(rows)} answers of {evaluator} to label to {out}")
    return 0


@labels_app.command("import")
def import_labels(
    file: Annotated[Path, typer.Argument(help="JSONL rows: subject, score (1-5), reviewer …")],
    reviewer: Annotated[
        str | None, typer.Option(help="Who labelled them (rows may name their own).")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Store filled-in labels, each beside the judge's score and version of its answer
    (found in the store: an evaluator's verdict for trace:<id>, a run's record for
    record:<run>/<case>/<trial>). Rows without a score are skipped; any bad row is
    file:line, exit 2, and nothing is stored. A reviewer's new label of an answer
    replaces their earlier one.

    Example: evallock labels import to-label.jsonl --reviewer ana
    """
    import orjson

    from evallock.cli._common import load, open_store_for
    from evallock.errors import UsageError
    from evallock.labels import LabelRow, resolve_labels

    settings = load(config, store)
    rows: list[LabelRow] = []
    problems: list[str] = []
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{file}: {exc.strerror or exc}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(f"{file}:{number}: not JSON: {exc}")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("subject"), str):
            problems.append(f"{file}:{number}: a label needs a subject")
            continue
        rows.append(
            LabelRow(
                line=number,
                subject=data["subject"],
                score=data.get("score"),
                reviewer=data.get("reviewer"),
                evaluator=data.get("evaluator"),
                note=data.get("note"),
            )
        )
    if problems:
        raise UsageError("\n".join(problems))
    with open_store_for(settings) as opened:
        labels = resolve_labels(opened, rows, file=str(file), reviewer=reviewer)
        try:
            opened.labels.add(labels)
        except ValueError as exc:
            raise UsageError(f"{file}: {exc}") from None
    versions = sorted({label.judge_version for label in labels})
    print(f"stored {len(labels)} labels (judge {', '.join(versions) or '-'})")
    return 0


@labels_app.command("disputed")
def disputed(
    judge_version: Annotated[
        str | None, typer.Option(help="Only this judge version (default: every labelled one).")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Answers reviewers disagree on by more than a point, not yet adjudicated: each with
    every reviewer's score, to settle with `evallock labels adjudicate`.

    Example: evallock labels disputed
    """
    from evallock.calibration import disputes
    from evallock.cli._common import load, open_store_for, out_console

    settings = load(config, store)
    console = out_console()
    found = 0
    with open_store_for(settings) as opened:
        versions = [judge_version] if judge_version else [v for v, _ in opened.labels.versions()]
        for version in versions:
            for subject, scores in disputes(opened.labels.of_version(version)):
                found += 1
                shown = ", ".join(f"{who} {score}" for who, score in sorted(scores.items()))
                console.print(f"{subject}  judge {version}: {shown}", markup=False)
    if not found:
        console.print("no disputed answers", markup=False)
    return 0


@labels_app.command("adjudicate")
def adjudicate(
    subject: Annotated[str, typer.Argument(help="trace:<id> or record:<run>/<case>/<trial>.")],
    score: Annotated[int, typer.Option(min=1, max=5, help="The settled score, 1-5.")],
    reviewer: Annotated[str, typer.Option(help="Who settles it.")],
    judge_version: Annotated[str, typer.Option(help="The judge version whose labels it settles.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Settle an answer the reviewers dispute: the adjudicated score then stands for it in
    the calibration (instead of their median); the reviewers' own labels and this
    decision stay in the audit trail (`evallock labels history`).

    Example: evallock labels adjudicate trace:4bf9… --score 2 --reviewer lead --judge-version judge@3f9a…
    """
    from datetime import UTC, datetime

    from evallock.cli._common import load, open_store_for
    from evallock.errors import UsageError
    from evallock.records import JudgeLabel

    settings = load(config, store)
    with open_store_for(settings) as opened:
        existing = [
            lab for lab in opened.labels.of_version(judge_version) if lab.subject == subject
        ]
        if not existing:
            raise UsageError(f"{subject}: no labels under judge {judge_version} to settle")
        first = existing[0]
        opened.labels.add(
            [
                JudgeLabel(
                    subject=subject,
                    judge_version=judge_version,
                    reviewer=f"adjudicated:{reviewer}",
                    human_score=score,
                    judge_score=first.judge_score,
                    labeled_at=datetime.now(UTC),
                    evaluator=first.evaluator,
                    note=note,
                    adjudicated=True,
                )
            ]
        )
    print(f"{subject}: settled at {score} by {reviewer}")
    return 0


@labels_app.command("history")
def history(
    subject: Annotated[str, typer.Argument(help="trace:<id> or record:<run>/<case>/<trial>.")],
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Every label, relabel and adjudication of an answer, in order, with who and when.

    Example: evallock labels history trace:4bf92f3577b34da6a3ce929d0e0e4736
    """
    from evallock.cli._common import load, open_store_for, out_console

    settings = load(config, store)
    console = out_console()
    with open_store_for(settings) as opened:
        events = opened.labels.history(subject)
    for event in events:
        note = f" ({event['note']})" if event["note"] else ""
        console.print(
            f"{event['at']:%Y-%m-%d %H:%M} {event['action']:<10} {event['reviewer']}:"
            f" {event['score']}  judge {event['judge_version']}{note}",
            markup=False,
        )
    if not events:
        console.print(f"no labels of {subject}", markup=False)
    return 0


def calibration(
    judge_version: Annotated[
        str | None, typer.Option(help="Only this judge version (default: every labelled one).")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the figures here (- for stdout).")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """How well the judge agrees with people, per judge version: quadratic-weighted kappa
    with its 95% bootstrap interval, Krippendorff's ordinal alpha, exact and within-one
    agreement, the judge's bias (judge - human, with a t interval), the confusion table,
    and how well the reviewers agree with each other. A version is calibrated with at
    least calibration.min_labels labelled answers and kappa >= calibration.min_kappa.

    Example: evallock calibration --judge-version gpt-4.1-mini@3f9a0c2b7d1e
    """
    from evallock.calibration import judge_calibration
    from evallock.cli._common import load, open_store_for, out_console, write_json

    settings = load(config, store)
    with open_store_for(settings) as opened:
        versions = [judge_version] if judge_version else [v for v, _ in opened.labels.versions()]
        found = [judge_calibration(opened.labels, v, settings.calibration) for v in versions]
    console = out_console()
    if not found:
        console.print("no labels yet: evallock labels sample, then labels import", markup=False)
    for item in found:
        console.print(item.line(), markup=False)
        extra = []
        if item.alpha is not None:
            extra.append(f"alpha {item.alpha:.2f}")
        if item.exact is not None and item.within_one is not None:
            extra.append(f"exact {item.exact:.0%}, within one {item.within_one:.0%}")
        if item.bias_ci is not None:
            extra.append(f"bias 95% CI [{item.bias_ci[0]:+.2f}, {item.bias_ci[1]:+.2f}]")
        if item.reviewer_alpha is not None:
            extra.append(f"reviewers agree alpha {item.reviewer_alpha:.2f}")
        if item.disputed:
            extra.append(f"{item.disputed} answers disputed by reviewers")
        if item.judge_errors:
            extra.append(f"{item.judge_errors} labelled answers had no judge score")
        if extra:
            console.print("  " + "; ".join(extra), markup=False)
        if item.confusion is not None:
            console.print("  judge \\ people   1    2    3    4    5", markup=False)
            for score, row in enumerate(item.confusion, start=1):
                console.print(f"  {score:>13} " + "".join(f"{c:>5}" for c in row), markup=False)
    if json_out is not None:
        write_json(json_out, {"judges": [item.as_json() for item in found]})
    return 0
