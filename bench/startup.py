"""Start-up benchmark: what a short ``evallock run`` costs before and after its requests.

On demand (not in the test suite)::

    .venv/bin/python bench/startup.py              # 10 repetitions each, ~1 minute
    .venv/bin/python bench/startup.py --reps 20 --cases 1000 --top 30

Starts the bundled fake service (0 ms latency) once, then times, each as its own
process and each the median of ``--reps`` runs:

* ``python -c pass``: the interpreter alone, the floor;
* ``evallock --help``;
* a one-case ``evallock run`` (rules-graded, with a prompt file) into a SQLite
  store that is already migrated (the usual CI case), and into a new one (the
  first run, which creates the schema);
* a ``--cases``-case run into a migrated store, for the per-case slope; the
  fixed cost of a run (start-up + close) is the one-case time less one slope;
* ``python -X importtime`` of the one-case run: the ``--top`` modules by
  cumulative import time (the median of ``--import-reps`` runs each), indented
  by nesting depth, and the total of the top-level imports.

The machine is small and shared: compare medians, not single runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from runner import PROMPT, start_service, write_cases  # noqa: E402

PYTHON = sys.executable
EVALLOCK = str(Path(PYTHON).with_name("evallock"))
ENV = {**os.environ, "CI": "true"}


def wall(argv: list[str], cwd: Path) -> float:
    """Seconds one child process takes; refuses a failed run (exit 2 or 3)."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def median_wall(
    argv: list[str], cwd: Path, reps: int, before: Callable[[], object] | None = None
) -> float:
    """The median of ``reps`` runs; ``before`` runs untimed before each."""
    times = []
    for _ in range(reps):
        if before is not None:
            before()
        times.append(wall(argv, cwd))
    return statistics.median(times)


def run_argv(cases: Path, base_url: str, db: Path, prompt: Path) -> list[str]:
    return [
        "run",
        str(cases),
        "--base-url",
        base_url,
        "--model",
        "support-bot",
        "--prompt",
        str(prompt),
        "--concurrency",
        "32",
        "--store",
        f"sqlite:///{db}",
        "--baseline",
        "none",
        "--min-pass-rate",
        "0",
    ]


def import_times(args: list[str], cwd: Path, reps: int) -> tuple[list[tuple[str, int, int]], int]:
    """(module, depth, median cumulative µs) in first-seen order, and the median total µs."""
    # main() without argv, as the console script calls it (argv given would keep the GC as is).
    code = f"import sys; sys.argv = ['evallock', *{args!r}]; from evallock.cli.main import main; main()"
    cumulative: dict[str, list[int]] = defaultdict(list)
    depth: dict[str, int] = {}
    totals = []
    for _ in range(reps):
        done = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", code],
            cwd=cwd,
            capture_output=True,
            text=True,
            env=ENV,
        )
        total = 0
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            _, cum, name = line[len("import time:") :].split("|")
            level = (len(name) - len(name.lstrip(" ")) - 1) // 2
            module = name.strip()
            cumulative[module].append(int(cum))
            depth.setdefault(module, level)
            if level == 0:
                total += int(cum)
        totals.append(total)
    rows = [(m, depth[m], int(statistics.median(v))) for m, v in cumulative.items()]
    return rows, int(statistics.median(totals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10, help="runs per figure (median)")
    parser.add_argument("--cases", type=int, default=1000, help="cases of the slope run")
    parser.add_argument("--slope-reps", type=int, default=5, help="runs of the slope run")
    parser.add_argument("--import-reps", type=int, default=5, help="-X importtime runs")
    parser.add_argument("--top", type=int, default=20, help="modules listed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        one = work / "one.jsonl"
        write_cases(one, 1)
        many = work / "many.jsonl"
        write_cases(many, args.cases)
        prompt = work / "prompt.txt"
        prompt.write_text(PROMPT)
        migrated = work / "migrated.db"
        fresh = work / "fresh.db"
        service, base_url = start_service(0)
        try:
            wall([EVALLOCK, *run_argv(one, base_url, migrated, prompt)], work)  # migrates
            floor = median_wall([PYTHON, "-c", "pass"], work, args.reps)
            helps = median_wall([EVALLOCK, "--help"], work, args.reps)
            one_run = median_wall(
                [EVALLOCK, *run_argv(one, base_url, migrated, prompt)], work, args.reps
            )
            first_run = median_wall(
                [EVALLOCK, *run_argv(one, base_url, fresh, prompt)],
                work,
                args.reps,
                before=lambda: fresh.unlink(missing_ok=True),
            )
            many_run = median_wall(
                [EVALLOCK, *run_argv(many, base_url, migrated, prompt)], work, args.slope_reps
            )
            modules, total_us = import_times(
                run_argv(one, base_url, migrated, prompt), work, args.import_reps
            )
        finally:
            service.terminate()
            service.wait()
    slope = (many_run - one_run) / (args.cases - 1)
    fixed = one_run - slope
    figures = {
        "reps": args.reps,
        "python_s": floor,
        "help_s": helps,
        "run_1_case_s": one_run,
        "run_1_case_new_store_s": first_run,
        f"run_{args.cases}_cases_s": many_run,
        "per_case_ms": 1000 * slope,
        "fixed_cost_s": fixed,
        "imports_s": total_us / 1e6,
    }
    print(f"medians of {args.reps} runs (the {args.cases}-case run: {args.slope_reps})")
    rows = [
        ("python -c pass", floor, "s"),
        ("evallock --help", helps, "s"),
        ("run, 1 case, migrated store", one_run, "s"),
        ("run, 1 case, new store (migrates)", first_run, "s"),
        (f"run, {args.cases} cases, migrated store", many_run, "s"),
        ("per case (slope)", 1000 * slope, "ms"),
        ("fixed cost of a run (1 case - slope)", fixed, "s"),
        ("imports of the 1-case run (top level)", total_us / 1e6, "s"),
    ]
    for label, value, unit in rows:
        print(f"  {label:<40} {value:6.3f} {unit}")
    print(f"\ntop {args.top} modules by cumulative import time (median of {args.import_reps})")
    for module, level, us in sorted(modules, key=lambda row: -row[2])[: args.top]:
        print(f"  {us / 1000:7.1f} ms  {'  ' * level}{module}")
    if args.json is not None:
        figures["top_imports_ms"] = {
            m: us / 1000 for m, _, us in sorted(modules, key=lambda r: -r[2])[: args.top]
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
