"""Runner benchmark: evallock run vs a bare httpx asyncio loop, same requests, same service.

On demand (not in the test suite): ``make bench`` or ``.venv/bin/python bench/runner.py``.
Starts the bundled service as its own process, writes N rules-graded cases, then
for each (latency, concurrency) runs, each as a separate process:

* ``bare httpx``: an httpx.AsyncClient loop sending the same chat requests, no grading or
  storage (the baseline the issue names);
* ``bare aiohttp``: the same loop over aiohttp, the client evallock uses;
* ``evallock``: ``evallock run`` (render prompt, ask, grade, store in SQLite, gate, report).

Prints wall time, the ratio to the bare loop, cases/s, CPU ms per case and peak RSS.
``--memory`` also runs 1,000 and 100,000 cases at 0 ms to show memory stays flat.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
EVALLOCK = str(Path(PYTHON).with_name("evallock"))

BARE_HTTPX = r"""
import asyncio, json, sys, time
import httpx
url, model, cases_path, concurrency = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
system = open(sys.argv[5]).read()
cases = [json.loads(l) for l in open(cases_path)]
async def main():
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        it = iter(cases)
        async def worker():
            for case in it:
                r = await client.post(url + "/chat/completions", json={"model": model, "messages": [
                    {"role": "system", "content": system}, {"role": "user", "content": case["input"]}]})
                r.raise_for_status()
                r.json()["choices"][0]["message"]["content"]
        await asyncio.gather(*(worker() for _ in range(concurrency)))
asyncio.run(main())
"""

BARE_AIOHTTP = r"""
import asyncio, json, sys, time
import aiohttp
url, model, cases_path, concurrency = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
system = open(sys.argv[5]).read()
cases = [json.loads(l) for l in open(cases_path)]
async def main():
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as client:
        it = iter(cases)
        async def worker():
            for case in it:
                async with client.post(url + "/chat/completions", json={"model": model, "messages": [
                    {"role": "system", "content": system}, {"role": "user", "content": case["input"]}]}) as r:
                    r.raise_for_status()
                    (await r.json())["choices"][0]["message"]["content"]
        await asyncio.gather(*(worker() for _ in range(concurrency)))
asyncio.run(main())
"""

PROMPT = "You are Acme support.\n- [refund, charged twice] Duplicate charges are refunded within 5 business days.\n- [ship, order] Orders ship within 2 business days.\n"


def write_cases(path: Path, n: int) -> None:
    with path.open("w") as handle:
        for i in range(n):
            topic = "I was charged twice, refund?" if i % 2 else "When does my order ship?"
            handle.write(
                json.dumps(
                    {
                        "id": f"case-{i:06d}",
                        "input": f"{topic} (ticket {i})",
                        "assert": [
                            {"type": "icontains", "value": "business days"},
                            {"type": "not-icontains", "value": "30 days"},
                        ],
                        "keys": {"intent": "refund" if i % 2 else "shipping"},
                    }
                )
                + "\n"
            )


def start_service(latency_ms: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "evallock.demo.fake_service",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"fake service did not start: {line!r}")
    return process, line.split("listening on", 1)[1].strip()


def timed(argv: list[str], cwd: Path) -> tuple[float, float, float]:
    """Run a child; return (wall s, child CPU s, child peak RSS MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, env={**os.environ, "CI": "true"}
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far; measure each run in a fresh shell.
    return wall, cpu, after.ru_maxrss / 1024


def peak_rss(argv: list[str], cwd: Path) -> float:
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true"},
    )
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def bench(n: int, latency_ms: int, concurrency: int, work: Path) -> dict[str, float]:
    cases = work / f"cases-{n}.jsonl"
    if not cases.exists():
        write_cases(cases, n)
    prompt = work / "prompt.txt"
    prompt.write_text(PROMPT)
    (work / "bare_httpx.py").write_text(BARE_HTTPX)
    (work / "bare_aiohttp.py").write_text(BARE_AIOHTTP)
    service, base_url = start_service(latency_ms)
    try:
        bare_args = [base_url, "support-bot", str(cases), str(concurrency), str(prompt)]
        bare_wall, bare_cpu, _ = timed([PYTHON, str(work / "bare_httpx.py"), *bare_args], work)
        aio_argv = [PYTHON, str(work / "bare_aiohttp.py"), *bare_args]
        aio_wall, aio_cpu, _ = timed(aio_argv, work)
        bare_rss = peak_rss(aio_argv, work)
        db = work / f"bench-{n}-{latency_ms}-{concurrency}.db"
        db.unlink(missing_ok=True)
        run_argv = [
            EVALLOCK,
            "run",
            str(cases),
            "--base-url",
            base_url,
            "--model",
            "support-bot",
            "--prompt",
            str(prompt),
            "--concurrency",
            str(concurrency),
            "--store",
            f"sqlite:///{db}",
            "--baseline",
            "none",
            "--min-pass-rate",
            "0",
        ]
        wall, cpu, _ = timed(run_argv, work)
        db.unlink(missing_ok=True)
        rss = peak_rss(run_argv, work)
    finally:
        service.terminate()
        service.wait()
    return {
        "n": n,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "bare_s": bare_wall,
        "bare_cpu_ms_per_case": 1000 * bare_cpu / n,
        "bare_rss_mb": bare_rss,
        "aio_s": aio_wall,
        "aio_cpu_ms_per_case": 1000 * aio_cpu / n,
        "aio_ratio": wall / aio_wall,
        "evallock_s": wall,
        "ratio": wall / bare_wall,
        "cases_per_s": n / wall,
        "cpu_ms_per_case": 1000 * cpu / n,
        "peak_rss_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--memory", action="store_true", help="also 1k vs 100k cases at 0 ms")
    parser.add_argument("--memory-only", action="store_true", help="only 1k vs 100k cases at 0 ms")
    args = parser.parse_args()
    args.memory = args.memory or args.memory_only
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = (
            []
            if args.memory_only
            else [
                bench(args.n, latency, conc, work)
                for latency, conc in ((100, 32), (100, 128), (0, 32))
            ]
        )
        if args.memory:
            rows += [bench(n, 0, 32, work) for n in (1_000, 100_000)]
    print("wall seconds; ratio = evallock / bare loop; CPU ms per case of the client process;")
    print("RSS = peak resident MB of evallock (bare = the aiohttp loop)")
    header = (
        f"{'n':>7} {'lat':>4} {'conc':>4} {'httpx s':>8} {'aiohttp s':>9} {'evallock s':>10} "
        f"{'/httpx':>6} {'/aiohttp':>8} {'cases/s':>8} {'cpu ms':>6} {'httpx cpu':>9} "
        f"{'aio cpu':>7} {'RSS':>5} {'bare RSS':>8}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['n']:>7} {r['latency_ms']:>4} {r['concurrency']:>4} {r['bare_s']:>8.2f} "
            f"{r['aio_s']:>9.2f} {r['evallock_s']:>10.2f} {r['ratio']:>6.2f} {r['aio_ratio']:>8.2f} "
            f"{r['cases_per_s']:>8.0f} {r['cpu_ms_per_case']:>6.2f} {r['bare_cpu_ms_per_case']:>9.2f} "
            f"{r['aio_cpu_ms_per_case']:>7.2f} {r['peak_rss_mb']:>5.0f} {r['bare_rss_mb']:>8.0f}"
        )


if __name__ == "__main__":
    main()
