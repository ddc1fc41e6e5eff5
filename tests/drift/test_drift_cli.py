"""``evallock drift`` from the command line: exit codes, JSON, webhook, history."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from evallock.store import open_store

from .conftest import day, make_traffic


@pytest.fixture
def seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/drift.db"
    store = open_store(url)
    try:
        store.traces.add(make_traffic())
    finally:
        store.close()
    return url


@pytest.fixture
def webhook_sink():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def args(seeded: str, judge: str, since: str, until: str, *extra: str) -> list[str]:
    return [
        "drift",
        "--since",
        since,
        "--until",
        until,
        "--store",
        seeded,
        "--judge-base-url",
        judge,
        "--judge-model",
        "judge",
        "--sample",
        "150",
        "--baseline-window",
        f"{day(0)}..{day(7)}",
        "--by",
        "customer_tier",
        *extra,
    ]


def test_alert_exits_1_posts_the_webhook_and_writes_json(
    cli, seeded, fake_service, webhook_sink, tmp_path
) -> None:
    url, received = webhook_sink
    result = cli(
        *args(
            seeded,
            fake_service.base_url,
            day(11),
            day(14),
            "--webhook",
            url,
            "--json",
            "d.json",
            "--history",
        )
    )
    assert result.code == 1, result.out + result.err
    assert "DRIFT ALERT" in result.out and "customer_tier=enterprise" in result.out
    assert "batches" in result.out and "ARL0" in result.out
    report = json.loads((tmp_path / "d.json").read_text())
    for field in (
        "window",
        "n_samples",
        "judge_errors",
        "mean",
        "mean_ci",
        "p10",
        "bad_share",
        "baseline_mean",
        "delta",
        "alert",
        "judge_version",
        "slices",
    ):
        assert field in report, field
    enterprise = next(s for s in report["slices"] if s["slice"] == "customer_tier=enterprise")
    assert enterprise["alert"] is True and enterprise["p_adjusted"] < 0.05
    assert {
        "slice",
        "n_samples",
        "mean",
        "mean_ci",
        "baseline_mean",
        "delta",
        "p_adjusted",
        "alert",
        "p10",
        "bad_share",
        "bad_share_ci",
    } <= set(enterprise)
    # the slice's own p10 and bad share, consistent with its mean and interval
    lo, hi = enterprise["bad_share_ci"]
    assert 0 <= lo <= enterprise["bad_share"] <= hi <= 1
    assert 1 <= enterprise["p10"] <= enterprise["mean"]
    (body,) = received
    assert "ALERT" in body["text"] and "customer_tier=enterprise" in json.dumps(body["blocks"])


def test_quiet_window_exits_0_and_sends_nothing(cli, seeded, fake_service, webhook_sink) -> None:
    url, received = webhook_sink
    result = cli(*args(seeded, fake_service.base_url, day(7), day(11), "--webhook", url))
    assert result.code == 0, result.out + result.err
    assert "no drift" in result.out and received == []


def test_empty_window_is_exit_2_and_judge_down_exit_3(
    cli, seeded, fake_service, closed_port
) -> None:
    empty = cli(*args(seeded, fake_service.base_url, day(40), day(41)))
    assert empty.code == 2 and "no traces between" in empty.err
    down = cli(
        *args(seeded, f"http://127.0.0.1:{closed_port}/v1", day(7), day(8), "--retries", "0")
    )
    assert down.code == 3 and "judge unreachable" in down.err


def test_bad_flags_are_exit_2(cli, seeded, fake_service) -> None:
    assert cli(*args(seeded, fake_service.base_url, "yesterday-ish", day(8))).code == 2
    assert (
        cli(*args(seeded, fake_service.base_url, day(7), day(8), "--batch", "fortnight")).code == 2
    )
    both = cli(*args(seeded, fake_service.base_url, day(7), day(8), "--baseline", "4.2"))
    assert both.code == 2 and "give one baseline" in both.err
    sliced = cli(
        "drift",
        "--since",
        day(7),
        "--until",
        day(8),
        "--store",
        seeded,
        "--judge-base-url",
        fake_service.base_url,
        "--judge-model",
        "judge",
        "--baseline",
        "4.2",
        "--by",
        "customer_tier",
    )
    assert sliced.code == 2 and "--baseline NUMBER with --by" in sliced.err, sliced.err


def test_the_config_run_section_sets_the_judge_retries_and_a_flag_wins(
    cli, tmp_path, fake_service
) -> None:
    """drift reads `run:` from evallock.yaml like run and ab do (it used to ignore it)."""
    from evallock.records import Trace

    url = f"sqlite:///{tmp_path}/flaky.db"
    with open_store(url) as store:
        store.traces.add(
            [
                Trace(
                    trace_id=f"{i:032x}",
                    timestamp=day_time(7),
                    # The judge's first attempt at each of these gets a 503; a retry succeeds.
                    input=f"Where is order {i}? [[fail:503x1]]",
                    output="It ships within 2 business days.",
                )
                for i in range(1, 21)
            ]
        )
    (tmp_path / "evallock.yaml").write_text("run:\n  retries: 0\n  concurrency: 4\n")
    base = [
        "drift",
        "--since",
        day(7),
        "--until",
        day(8),
        "--store",
        url,
        "--judge-base-url",
        fake_service.base_url,
        "--judge-model",
        "judge",
        "--baseline",
        "4.0",
    ]
    no_retries = cli(*base)
    assert no_retries.code == 3 and "judge" in no_retries.err, no_retries.err
    with_flag = cli(*base, "--retries", "2")
    assert with_flag.code in (0, 1), with_flag.err


def day_time(n: int):
    from datetime import datetime

    return datetime.fromisoformat(day(n))


def test_the_report_says_which_judge_a_baseline_and_the_last_report_came_from(
    cli, seeded, fake_service, tmp_path
) -> None:
    common = ["drift", "--since", day(7), "--until", day(11), "--store", seeded,
              "--judge-base-url", fake_service.base_url, "--judge-model", "judge",
              "--sample", "60"]  # fmt: skip
    first = cli(*common, "--baseline", "4.2", "--json", "n.json")
    assert first.code in (0, 1), first.err
    notes = json.loads((tmp_path / "n.json").read_text())["notes"]
    version = json.loads((tmp_path / "n.json").read_text())["judge_version"]
    assert any(n.startswith("baseline 4.2 is a number") and version in n for n in notes)
    assert not any("judge or rubric changed" in n for n in notes)  # no report before it
    refused = cli(*common, "--baseline", "4.2", "--require-calibrated")
    assert refused.code == 2 and f"--require-calibrated: judge {version} is not" in refused.err
    # and beside the judged figures, the judge's agreement with people (none labelled yet)
    assert any(n.startswith(f"judge {version} is not calibrated: no labels yet") for n in notes)
    rubric = "Score 1-5: is the answer polite?"
    second = cli(*common, "--baseline", "4.2", "--rubric", rubric, "--json", "r.json")
    assert second.code in (0, 1), second.err
    later = json.loads((tmp_path / "r.json").read_text())
    assert later["judge_version"] != version
    assert f"judge or rubric changed since the last report ({version} → " in " ".join(
        later["notes"]
    )
    assert "judge or rubric changed since the last report" in second.out


def test_drift_by_session_judges_each_conversation_once_on_its_last_answer(
    cli, tmp_path, fake_service
) -> None:
    """Two-turn sessions, one turn a request: the user names the problem, then asks "What
    about it?". From day 8 the second answer is the wrong policy. Judged by trace, that
    follow-up means nothing on its own (no policy to check it against) and the window
    looks as before; judged by session, each conversation is one sample whose last answer
    is judged with the whole conversation shown, and the drop is plain."""
    import random
    from datetime import timedelta

    from evallock.records import Trace

    from .conftest import T0

    rng = random.Random(3)
    traces = []
    for n in range(300):
        at = T0 + timedelta(days=n * 11 / 300, seconds=rng.randrange(3000))
        bad = at >= T0 + timedelta(days=8)
        second = (
            "Enterprise contract refunds take 30 days and must go through your account manager."
            if bad
            else "Duplicate charges on enterprise contracts are refunded within 5 business days to"
            " the original payment method; no action is needed on your side."
        )
        for turn, (question, answer) in enumerate(
            [
                ("Our enterprise contract was charged twice this month.",
                 "Duplicate charges on enterprise contracts are refunded within 5 business days to"
                 " the original payment method; no action is needed on your side."),
                ("What about it?", second),
            ]
        ):  # fmt: skip
            traces.append(
                Trace(
                    trace_id=f"{rng.getrandbits(128):032x}",
                    timestamp=at + timedelta(minutes=turn),
                    input=question,
                    output=answer,
                    keys={"session_id": f"s-{n}"},
                )
            )
    url = f"sqlite:///{tmp_path}/sessions.db"
    store = open_store(url)
    try:
        store.traces.add(traces)
    finally:
        store.close()
    common = ["drift", "--since", day(8), "--until", day(11), "--store", url,
              "--judge-base-url", fake_service.base_url, "--judge-model", "judge",
              "--sample", "500", "--baseline-window", f"{day(0)}..{day(8)}"]  # fmt: skip
    by_session = cli(*common, "--unit", "session", "--json", "s.json")
    assert by_session.code == 1, by_session.out + by_session.err
    report = json.loads((tmp_path / "s.json").read_text())
    in_window = [t for t in traces if t.timestamp >= T0 + timedelta(days=8)]
    assert report["n_samples"] == len({t.keys["session_id"] for t in in_window})
    assert any("judged by session" in note for note in report["notes"])
    assert report["mean"] < 2.5 < 4.5 < report["baseline_mean"]
    by_trace = cli(*common, "--json", "t.json")
    assert by_trace.code == 0, by_trace.out  # the follow-ups alone cannot be checked
    trace_report = json.loads((tmp_path / "t.json").read_text())
    assert trace_report["n_samples"] == len(in_window)
    assert cli(*common, "--unit", "turn").code == 2
