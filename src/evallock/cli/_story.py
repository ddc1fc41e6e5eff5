"""The demo's story: the whole loop on the bundled refund bot, told as the commands a user types.

v3 passes the gate and is the baseline; v4 wins offline on a golden set without
enterprise contract cases and passes too; ``evallock serve`` records production
traffic through its proxy, v4 serving most of it; enterprise customers thumb
down; ``drift --by customer_tier`` alerts on enterprise only; ``candidates``
proposes the complaint-linked traces (and, from the order assistant's rated
conversations, a multi-turn candidate); a reviewer accepts them with the right
answer and promotes them as locks; the v4 gate now fails ("a fixed bug came
back"); ``compare`` flags v4's enterprise slice as an offline win and an online
loss; ``coverage`` shows the blind spot covered; the dashboard shows it all.

Every step runs the real command in-process, in the demo's work directory, and
checks that it did what the story says; a step that does not makes the demo
exit 1 and says which.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.table import Table

__all__ = ["Story"]

V3, V4 = "refund-v3", "refund-v4"
PROMPTS = {V3: Path("prompts/support-v3.txt"), V4: Path("prompts/support-v4.txt")}
BEFORE, AFTER = 150, 300
"""Requests before the v4 deploy (v3 serves everyone) and after it (v4 serves 80 %)."""
SEED = 7
# What the reviewer writes for each kind of enterprise complaint: the contract's answer.
_DUPLICATE = (
    "Duplicate charges on enterprise contracts are refunded within 5 business days to the"
    " original payment method; no action is needed.",
    [
        {"type": "icontains", "value": "5 business days"},
        {"type": "not-icontains", "value": "account manager"},
    ],
)
_CANCEL = (
    "Enterprise contracts cancelled mid-term are refunded pro rata for the unused months.",
    [
        {"type": "icontains", "value": "pro rata"},
        {"type": "not-icontains", "value": "account manager"},
    ],
)


class StoryError(Exception):
    """A step did not do what the story says."""


@dataclass(kw_only=True)
class Story:
    """The demo, step by step, in ``workdir`` (recreated), printing to ``console``."""

    workdir: Path
    console: Console
    port: int = 0
    """Where ``evallock serve`` listens (0: a free port)."""
    keep_serving: bool = False
    """Leave the service and its dashboard up until Ctrl-C."""
    hold: Callable[[str], None] = field(default=lambda root: _wait_for_interrupt())
    """What keeps the service up, given its root URL (waiting for Ctrl-C by default)."""
    facts: dict[str, Any] = field(default_factory=dict)
    """What the steps found, for the summary (and the tests)."""

    def tell(self) -> int:
        """Run the story; 0 when every step did what the story says, else 1."""
        from evallock.demo import example_dir, start_fake_service

        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        shutil.copytree(example_dir(), self.workdir)
        started = time.perf_counter()
        with start_fake_service() as service, _inside(self.workdir):
            self._setup(service.base_url)
            try:
                self._offline()
                with self._serving(service.base_url) as root:
                    self._production(root)
                    self._loop(root)
                    self._looks(root, started)
            except StoryError as exc:
                self.console.print(Rule("the story went off script"))
                self.console.print(f"demo: {exc}", markup=False)
                return 1
        return 0

    # -- the steps -----------------------------------------------------------------------

    def _setup(self, service_url: str) -> None:
        """The golden set before the incident, and a config pointing at the bundled service."""
        golden = Path("golden.jsonl")
        lines = golden.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.strip() and not _enterprise_refund(line)]
        golden.write_text("\n".join(kept) + "\n", encoding="utf-8")
        Path("evallock.yaml").write_text(_config(service_url), encoding="utf-8")
        self.say(
            f"The refund bot of Acme Outfitters, served by evallock's bundled fake model at"
            f" {service_url}. The project is copied to {self.workdir}: two prompts, an"
            f" evallock.yaml, and golden.jsonl with {len(kept)} cases, none about enterprise"
            " contract refunds (the team's golden set before the incident). Store:"
            " evallock.db (SQLite)."
        )

    def _offline(self) -> None:
        self.step("v3 is in production: it passes the gate and becomes the baseline.")
        self.command(["run", "golden.jsonl", "--json", "v3.json"], expect=0)
        self.step(
            "v4 is the candidate: friendlier, and it answers two consumer questions v3 misses."
            " It passes the gate with a higher pass rate: an offline win."
        )
        v4 = ["run", "golden.jsonl", *_v4_flags(), "--json", "v4.json"]
        self.command(v4, expect=0)
        v3_rate, v4_rate = (_json(f"{v}.json")["pass_rate"] for v in ("v3", "v4"))
        if not v4_rate > v3_rate:
            raise StoryError(f"v4 should win offline: pass rate {v4_rate} vs v3 {v3_rate}")
        self.facts["offline"] = (v3_rate, v4_rate)
        self.step(
            "An A/B on the same cases, paired by case: is v4's higher pass rate evidence, or"
            " two cases' luck? The answer has an interval, a floor and a power note."
        )
        ab = [
            "ab",
            "golden.jsonl",
            "--a",
            f"prompt={PROMPTS[V3]},key.prompt_version={V3}",
            "--b",
            f"prompt={PROMPTS[V4]},key.prompt_version={V4}",
            "--json",
            "ab.json",
        ]
        self.command(ab, expect=0)
        verdict = _json("ab.json")["verdict"]
        if verdict == "A wins":
            raise StoryError(f"the A/B should not find v3 better: {verdict}")
        self.facts["ab"] = verdict

    @contextmanager
    def _serving(self, service_url: str) -> Iterator[str]:
        from evallock.server import ServerSettings, start_server

        self.step(
            "v4 is deployed. The app talks to its model through evallock's recording proxy,"
            " sending the shared keys as X-Evallock-* headers (prompt_version, intent,"
            " customer_tier) and its template variables as X-Evallock-Prompt-Vars."
        )
        port = f" --port {self.port}" if self.port else ""
        flags = f"--upstream {service_url}{port} --cases golden.jsonl --no-auth"
        self.show(f"evallock serve {flags} &   # --no-auth: this machine only")
        running = start_server(
            ServerSettings(
                store_url=_store_url(),
                host="127.0.0.1",
                port=self.port,
                upstream=service_url,
                no_auth=True,
                log_level="warning",
                case_files=(str((self.workdir / "golden.jsonl").resolve()),),
            )
        )
        try:
            self.console.print(f"serving at {running.root_url}\n", markup=False)
            yield running.root_url
            if self.keep_serving:
                self.console.print(
                    f"\nThe dashboard stays up at {running.root_url}/ ; Ctrl-C stops it.",
                    markup=False,
                )
                self.hold(running.root_url)
        finally:
            running.stop()

    def _production(self, root: str) -> None:
        from evallock.demo import customers, send_traffic

        rng = random.Random(SEED)
        prompts = {version: path for version, path in PROMPTS.items()}
        start = _whole_second()
        before = send_traffic(root, prompts, customers(rng, BEFORE, {V3: 1.0}), rng=rng)
        deploy = _whole_second()
        split = {V4: 0.8, V3: 0.2}
        after = send_traffic(root, prompts, customers(rng, AFTER, split), rng=rng)
        errors = before.errors + after.errors
        if errors:
            raise StoryError(f"production traffic failed: {errors[0]}")
        table = Table("prompt_version", "customer_tier", "requests", "thumbs-down")
        requests = before.requests + after.requests
        downs = before.thumbs_down + after.thumbs_down
        for version, tier in sorted(requests):
            table.add_row(version, tier, str(requests[version, tier]), str(downs[version, tier]))
        self.console.print(
            f"{BEFORE} requests before the deploy (v3 only) and {AFTER} after it (v4 serves"
            " 80 %). Enterprise customers told that contract refunds take 30 days through an"
            " account manager thumb the answer down:",
            markup=False,
        )
        self.console.print(table)
        self.facts["windows"] = (_iso(start), _iso(deploy))

    def _loop(self, root: str) -> None:
        start, deploy = self.facts["windows"]
        self.step(
            "The nightly drift check judges a sample of the traffic since the deploy against the"
            " week before it, per customer tier. It alerts on enterprise only (exit 1)."
        )
        drift = [
            "drift", "--since", deploy, "--baseline-window", f"{start}..{deploy}",
            "--by", "customer_tier", "--stratify-by", "customer_tier", "--json", "drift.json",
        ]  # fmt: skip
        self.command(drift, expect=1)
        alerting = _alerting_slices(_json("drift.json"))
        if alerting != [{"customer_tier": "enterprise"}]:
            raise StoryError(f"drift should alert on enterprise only; it alerted on {alerting}")
        self._agent(root)
        self.step(
            "Thumbs-downs and low judge scores become candidate cases, merged by question; a"
            " rated conversation becomes one multi-turn candidate, with its tool results."
        )
        self.command(["candidates", "propose", "--golden", "golden.jsonl"], expect=0)
        self.step(
            "A reviewer accepts the enterprise complaints with the contract's answer (the"
            " template variable plan=enterprise came with each trace), and the first rated"
            " conversation with the tool the assistant should have called (the second is the"
            " same bug), and promotes them as locks. Promotion first runs each lock once against evallock.yaml's target (v3's"
            " prompt): a lock that cannot run is refused; the enterprise ones pass on v3, the"
            " conversation's fails (its bug is live in both prompts)."
        )
        accepted = self._review()
        self.command(["candidates", "promote", "--to", "golden.jsonl"], expect=0)
        self.facts["locks"] = accepted
        self.step("The next deploy of v4 runs the gate on the golden set with its new locks.")
        self.command(["run", "golden.jsonl", *_v4_flags(), "--json", "v4-again.json"], expect=1)
        failed = _json("v4-again.json").get("locks_failed") or []
        if not failed:
            raise StoryError("the v4 gate should fail on the new locks")
        if not any(_is_session_lock(lock) for lock in failed):
            raise StoryError(f"the conversation's lock should fail too (the agent's bug): {failed}")
        self.step(
            "compare joins the deploy decisions (the passing gate runs) with production, per"
            " slice: v4's enterprise slice won offline and lost online."
        )
        self.command(
            ["compare", "--by", "prompt_version,customer_tier", "--json", "compare.json"], expect=0
        )
        flagged = _json("compare.json").get("flagged", [])
        wanted = {"prompt_version": V4, "customer_tier": "enterprise"}
        if wanted not in flagged:
            raise StoryError(f"compare should flag {wanted}; it flagged {flagged}")
        self.step("coverage: the slices users complain about, and the golden cases covering each.")
        self.command(["coverage", "--golden", "golden.jsonl", "--json", "coverage.json"], expect=0)
        blind = _json("coverage.json").get("blind_spots", [])
        if {"intent": "refund", "customer_tier": "enterprise"} in blind:
            raise StoryError("enterprise refunds should be covered by the new locks")

    def _agent(self, root: str) -> None:
        from evallock.demo import send_agent_sessions

        self.step(
            "Meanwhile the order assistant, the same model with tools, holds conversations"
            " through the proxy (X-Evallock-Session-Id groups them). Asked whether an order"
            " can be returned, it looks the order up again instead of reading the refund"
            " policy; customers rate the whole conversation down."
        )
        result = send_agent_sessions(root, rng=random.Random(SEED))
        if result.errors:
            raise StoryError(f"the order assistant's traffic failed: {result.errors[0]}")
        rated = sum(result.thumbs_down.values())
        self.console.print(
            f"{sum(result.requests.values())} requests in 3 conversations (a tool call and"
            f" an answer for each turn); {rated} rated down as a whole.",
            markup=False,
        )

    def _review(self) -> list[str]:
        """Accept each pending enterprise refund candidate with the contract's answer, and
        the first rated conversation with what the assistant should have looked up (the
        second asks the same: it is rejected as a duplicate)."""
        from evallock.store import open_store

        store = open_store(_store_url())
        try:
            pending = store.candidates.find(states=["pending"], limit=None)
        finally:
            store.close()
        accepted = []
        conversations = [c for c in pending if c.conversation is not None]
        if len(conversations) != 2:
            raise StoryError(f"two rated conversations should be candidates: {conversations}")
        first, second = conversations
        self.command(_agent_review(first.candidate_id), expect=0)
        accepted.append(first.candidate_id)
        self.facts["session_lock"] = first.candidate_id
        reason = f"the same bug as {first.candidate_id}"
        self.command(["candidates", "reject", second.candidate_id, "--reason", reason], expect=0)
        for candidate in pending:
            keys = candidate.keys
            if keys.get("customer_tier") != "enterprise" or keys.get("intent") != "refund":
                continue
            question = (candidate.input or "").lower()
            expected, asserts = _CANCEL if "cancel" in question else _DUPLICATE
            argv = ["candidates", "accept", candidate.candidate_id, "--expected", expected]
            for item in asserts:
                argv += ["--assert", json.dumps(item)]
            argv += ["--note", "refund-v4 sent enterprise contract refunds to an account manager"]
            self.command(argv, expect=0)
            accepted.append(candidate.candidate_id)
        if len(accepted) < 2:
            raise StoryError("no enterprise refund candidate was proposed")
        return accepted

    def _looks(self, root: str, started: float) -> None:
        self.console.print(Rule("what happened"))
        v3_rate, v4_rate = self.facts["offline"]
        self.console.print(
            f"Offline, v4 won ({v4_rate:.0%} vs {v3_rate:.0%} of the golden set) and passed the"
            " gate. Online, enterprise customers got a wrong refund policy: drift alerted on"
            " that slice only, their thumbs-downs became candidates, and after review"
            f" {len(self.facts['locks'])} lock case(s) pinned to the production traces now fail"
            " the v4 gate: that exit code (1) blocks the deploy in CI. One of them is a whole"
            " conversation of the order assistant, replayed turn by turn with its tool results:"
            " it fails while the assistant calls the wrong tool. compare names the slice where"
            " offline and online disagree (and the assistant's, which no gate covers);"
            " coverage shows it covered.\n"
            f"Dashboard: {root}/  (runs, traces with their judge scores, drift, candidates)\n"
            f"Files: {self.workdir}/ (golden.jsonl with the locks, evallock.db, *.json reports)\n"
            f"The story took {time.perf_counter() - started:.1f} s.",
            markup=False,
        )

    # -- printing ------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A paragraph of the story."""
        self.console.print(text + "\n", markup=False)

    def step(self, text: str) -> None:
        """A new step: a rule, then what it shows."""
        self.console.print(Rule(style="dim"))
        self.say(text)

    def show(self, command: str) -> None:
        """A command line, as the user would type it."""
        self.console.print(f"$ {command}", style="bold", markup=False, highlight=False)

    def command(self, argv: list[str], *, expect: int) -> int:
        """Show ``evallock ARGV``, run it in-process, and check its exit code."""
        from evallock.cli.main import main

        self.show(shlex.join(["evallock", *argv]))
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        else:  # pragma: no cover - main always exits
            code = 0
        self.console.print()
        if code != expect:
            raise StoryError(f"`evallock {shlex.join(argv)}` exited {code}, expected {expect}")
        return code


def _agent_review(candidate_id: str) -> list[str]:
    """``candidates accept`` for a rated conversation: it should read the refund policy."""
    return [
        "candidates", "accept", candidate_id,
        "--expected", "30 days",
        "--assert", json.dumps({"type": "tool-called", "value": "refund_policy"}),
        "--var", "plan=consumer",
        "--note", "asked about a return, the order assistant looked up the order again",
    ]  # fmt: skip


def _is_session_lock(case_id: str) -> bool:
    """Whether the golden set's case ``case_id`` was promoted from a whole session."""
    for line in Path("golden.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == case_id:
            return bool(json.loads(line).get("source", {}).get("session_id"))
    return False


def _enterprise_refund(line: str) -> bool:
    keys = json.loads(line).get("keys", {})
    return bool(keys.get("customer_tier") == "enterprise" and keys.get("intent") == "refund")


def _v4_flags() -> list[str]:
    return ["--prompt", str(PROMPTS[V4]), "--key", f"prompt_version={V4}"]


def _config(service_url: str) -> str:
    return (
        "# The refund-bot example, written by `evallock demo`: the bundled fake service is at\n"
        f"# {service_url} while the demo runs.\n"
        "store: sqlite:///evallock.db\n"
        "target:\n"
        f"  base_url: {service_url}\n"
        "  model: support-bot\n"
        f"  prompt: {PROMPTS[V3]}\n"
        f"  keys: {{prompt_version: {V3}, model_version: support-bot-v1}}\n"
        "judge:\n"
        f"  base_url: {service_url}\n"
        "  model: judge\n"
        "gate:\n"
        "  min_pass_rate: 0.9\n"
        "  max_new_failures: 0\n"
    )


def _store_url() -> str:
    return f"sqlite:///{Path('evallock.db').resolve()}"


def _json(path: str) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise StoryError(f"{path}: expected a JSON object")
    return data


def _alerting_slices(report: dict[str, Any]) -> list[dict[str, str]]:
    """The slices a drift report alerts on (their keys), in report order."""
    return [s["keys"] for s in report.get("slices", []) if s.get("alert")]


def _whole_second() -> datetime:
    """Wait for the next whole second and return it: windows then split cleanly."""
    now = time.time()
    time.sleep(int(now) + 1 - now)
    return datetime.fromtimestamp(int(now) + 1, UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """Run in ``folder`` (the commands shown use paths relative to it)."""
    here = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)
