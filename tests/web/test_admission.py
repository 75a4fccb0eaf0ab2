"""Admission in front of the worker pool: the bounded queue, per-client limits, callers
that leave, waits that end, and what HTTP clients are told (503/429 with Retry-After).

The pool is replaced by one whose jobs finish when the test says so (running the real job
in this process), so the queue's states are reached exactly, without timing.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from channels.db import database_sync_to_async

from playground import admission, cost, pagecache, ratelimit, runner, scenarios
from playground.admission import Busy, Caller, CallerGone, TooMany
from playground.asgi import application
from playground.jobs import run_job
from playground.rates import Rate
from simcore import Scenario, builtin_scenarios, load_scenario, parse_scenario, simulate

WAIT = 30  # seconds a test waits for a thread it started


class ManualPool:
    """Takes jobs; each runs (in this process) when the test calls `finish`."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Future[Any], Any, tuple[Any, ...]]] = []

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        self.jobs.append((future, fn, args))
        return future

    def finish(self, k: int = 0) -> None:
        future, fn, args = self.jobs[k]
        future.set_result(fn(*args))

    def finish_all(self) -> None:
        for future, fn, args in self.jobs:
            if not future.done():
                future.set_result(fn(*args))


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[ManualPool]:
    settings.RUN_WORKERS, settings.RUN_QUEUE, settings.RUNS_PER_CLIENT = 1, 1, 1
    manual = ManualPool()
    monkeypatch.setattr(runner, "_executor", lambda: manual)
    runner.reset()
    ratelimit.reset()
    yield manual
    manual.finish_all()
    assert runner.cache_stats()["running"] == 0


def variant(scenario: Scenario, seed: int) -> Scenario:
    source = scenarios.source_of(scenario)
    source["seed"] = seed
    return parse_scenario(source)


def claim(scenario: Scenario, client: str | None) -> Any:
    return runner._claim(runner.key_of(scenario), run_job, (scenario,), client)


def test_a_full_queue_answers_busy_with_a_retry_after(
    pool: ManualPool, calm_scenario: Scenario
) -> None:
    running = claim(variant(calm_scenario, 1), "10.0.0.1")
    waiting = claim(variant(calm_scenario, 2), "10.0.0.2")
    assert running.started is not None and waiting.started is None
    with pytest.raises(Busy) as refused:
        claim(variant(calm_scenario, 3), "10.0.0.3")
    assert refused.value.status == 503
    assert "1 runs are waiting" in refused.value.message
    assert refused.value.retry_after >= 1
    pool.finish(0)  # the first ends: the waiting one starts, and there is room again
    assert waiting.started is not None
    assert running.future.result(timeout=0).stream.total > 0
    claim(variant(calm_scenario, 3), "10.0.0.3")


def test_a_client_has_one_new_run_at_a_time(pool: ManualPool, calm_scenario: Scenario) -> None:
    claim(variant(calm_scenario, 11), "10.0.0.1")
    with pytest.raises(TooMany) as refused:
        claim(variant(calm_scenario, 12), "10.0.0.1")
    assert refused.value.status == 429
    assert "at most 1 per address" in refused.value.message


def test_callers_of_a_run_already_queued_join_it_for_free(
    pool: ManualPool, calm_scenario: Scenario
) -> None:
    scenario = variant(calm_scenario, 21)
    first = claim(scenario, "10.0.0.1")
    second = claim(scenario, "10.0.0.1")  # the same client: no second job, no refusal
    third = claim(scenario, "10.0.0.2")
    assert first is second is third
    assert first.waiters == 3
    pool.finish(0)
    assert claim(scenario, "10.0.0.9").stream is first.future.result(timeout=0).stream


def test_a_queued_run_nobody_waits_for_is_cancelled(
    pool: ManualPool, calm_scenario: Scenario
) -> None:
    claim(variant(calm_scenario, 31), "10.0.0.1")
    queued = claim(variant(calm_scenario, 32), "10.0.0.2")
    runner._release(queued)
    assert queued.future.cancelled()
    assert runner.cache_stats()["queued"] == 0
    pool.finish(0)
    assert len(pool.jobs) == 1  # the cancelled job never went to a worker


def test_a_running_run_goes_on_when_its_callers_leave(
    pool: ManualPool, calm_scenario: Scenario
) -> None:
    running = claim(variant(calm_scenario, 41), "10.0.0.1")
    runner._release(running)
    assert not running.future.cancelled()
    pool.finish(0)
    assert running.future.result(timeout=0).keep


def _in_thread(target: Any, caller: Caller | None) -> tuple[threading.Thread, list[Any]]:
    """Runs `target` in a thread with `caller` as the request's caller; collects its end."""
    ended: list[Any] = []

    def body() -> None:
        token = admission._caller.set(caller)
        try:
            ended.append(target())
        except Exception as err:
            ended.append(err)
        finally:
            admission._caller.reset(token)

    thread = threading.Thread(target=body)
    thread.start()
    return thread, ended


def _wait_until(condition: Any) -> None:
    done = threading.Event()
    for _ in range(WAIT * 100):
        if condition():
            return
        done.wait(0.01)  # polling a queue's state from outside it, with a deadline
    raise AssertionError("condition not met in time")


def test_a_caller_that_disconnects_while_queued_gets_its_run_cancelled(
    pool: ManualPool, calm_scenario: Scenario
) -> None:
    claim(variant(calm_scenario, 51), "10.0.0.1")
    caller = Caller("10.0.0.2")
    queued = variant(calm_scenario, 52)
    thread, ended = _in_thread(lambda: runner.outcome(queued), caller)
    _wait_until(lambda: runner.cache_stats()["queued"] == 1)
    caller.leave()  # what CallerWatch does on http.disconnect
    thread.join(WAIT)
    assert len(ended) == 1 and isinstance(ended[0], CallerGone)
    assert runner.cache_stats()["queued"] == 0


def test_a_wait_that_runs_out_ends_in_a_clear_busy(
    pool: ManualPool, calm_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim(variant(calm_scenario, 61), "10.0.0.1")
    monkeypatch.setattr(runner, "_wait_seconds", lambda: 0.05)
    with pytest.raises(Busy) as gave_up:
        runner.outcome(variant(calm_scenario, 62))
    assert "still waiting for a worker after 0 s" in gave_up.value.message
    assert runner.cache_stats()["queued"] == 0  # and it left the queue


def test_a_caller_waiting_on_a_running_job_gives_up_with_a_message(
    pool: ManualPool, calm_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "_wait_seconds", lambda: 0.05)
    with pytest.raises(Busy) as gave_up:
        runner.outcome(variant(calm_scenario, 71))
    assert "is still running after" in gave_up.value.message
    assert runner.cache_stats()["running"] == 1  # it runs on to its caps, then is kept


# --- a button's prefetch (runner.prefetch) ----------------------------------------------


def test_a_prefetched_run_nobody_opens_never_takes_a_worker(
    pool: ManualPool, calm_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PREFETCH_HOLD_SECONDS", 0.0)  # the page never came
    claim(variant(calm_scenario, 81), "10.0.0.1")  # the only worker is busy
    runner.prefetch(variant(calm_scenario, 82))
    assert runner.cache_stats()["queued"] == 1
    pool.finish(0)  # a worker frees: the prefetch nobody opened is dropped, not started
    assert len(pool.jobs) == 1
    assert runner.cache_stats()["queued"] == 0


def test_an_unopened_prefetch_holds_no_place_in_the_queue(
    pool: ManualPool, calm_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PREFETCH_HOLD_SECONDS", 0.0)
    claim(variant(calm_scenario, 83), "10.0.0.1")
    runner.prefetch(variant(calm_scenario, 84))  # the queue's one place (RUN_QUEUE = 1)
    queued = claim(variant(calm_scenario, 85), "10.0.0.2")  # not Busy: the place is free
    assert queued.started is None and runner.cache_stats()["queued"] == 1


def test_a_prefetched_run_waits_for_its_page_which_joins_it(
    pool: ManualPool, calm_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PREFETCH_HOLD_SECONDS", 3600.0)  # the page is on its way
    claim(variant(calm_scenario, 86), "10.0.0.1")
    prefetched = variant(calm_scenario, 87)
    runner.prefetch(prefetched)
    page = claim(prefetched, "10.0.0.3")  # the new page's request: the same job
    assert page.waiters == 1
    runner._release(page)  # even if that request gives up, the hold keeps it queued
    pool.finish(0)
    assert page.started is not None and len(pool.jobs) == 2
    pool.finish(1)
    assert runner.outcome(prefetched) is page.future.result(timeout=0)  # cached


# --- what HTTP clients are told ----------------------------------------------------------


async def _request(
    method: str, path: str, body: bytes = b"", client: str = "10.1.0.1", **headers: str
) -> dict[str, Any]:
    """One request through the whole ASGI application, from `client`; awaited to its end."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": (client, 40000),
        "server": ("127.0.0.1", 8000),
        "headers": [
            (b"host", b"localhost"),
            *((k.encode(), v.encode()) for k, v in headers.items()),
        ],
    }
    answer: dict[str, Any] = {"status": None, "headers": {}, "body": b""}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        else:
            answer["body"] += message.get("body", b"")

    await asyncio.wait_for(application(scope, receive, send), WAIT)
    return answer


@pytest.mark.django_db(transaction=True)
async def test_a_busy_server_answers_503_with_retry_after(
    monkeypatch: pytest.MonkeyPatch, calm_scenario: Scenario
) -> None:
    def busy(scenario: Scenario) -> runner.Outcome:
        raise Busy("every simulation worker is busy and 8 runs are waiting", 12)

    monkeypatch.setattr(runner, "outcome", busy)
    pagecache.reset()  # a page rendered by an earlier test would need no worker
    slug = await database_sync_to_async(scenarios.save)(calm_scenario)
    page = await _request("GET", f"/r/{slug}")
    assert page["status"] == 503
    assert page["headers"]["retry-after"] == "12"
    assert b"8 runs are waiting" in page["body"] and b"try again in 12 s" in page["body"]
    assert b"Busy, try again soon" in page["body"]
    api = await _request(
        "POST",
        "/api/run",
        json.dumps(scenarios.source_of(calm_scenario)).encode(),
        **{"content-type": "application/json"},
    )
    assert api["status"] == 503
    assert api["headers"]["retry-after"] == "12"
    assert b'"field": "run"' in api["body"] and b'"retry_after": 12' in api["body"]


@pytest.mark.django_db(transaction=True)
async def test_new_runs_past_the_rate_get_429(settings: Any, calm_scenario: Scenario) -> None:
    settings.RATE_RUNS = Rate(1, 3600)
    ratelimit.reset()
    answers = []
    for seed in (81, 82):
        body = json.dumps(scenarios.source_of(variant(calm_scenario, seed))).encode()
        answers.append(
            await _request(
                "POST", "/api/run", body, client="10.1.0.2", **{"content-type": "application/json"}
            )
        )
    assert [a["status"] for a in answers] == [200, 429]
    assert int(answers[1]["headers"]["retry-after"]) > 3000
    assert b"too many new runs from your address" in answers[1]["body"]
    again = await _request(  # a run someone already made costs nothing
        "POST",
        "/api/run",
        json.dumps(scenarios.source_of(variant(calm_scenario, 81))).encode(),
        client="10.1.0.2",
        **{"content-type": "application/json"},
    )
    assert again["status"] == 200


@pytest.mark.django_db(transaction=True)
async def test_edits_past_the_rate_get_429(settings: Any, calm_scenario: Scenario) -> None:
    settings.RATE_EDITS = Rate(2, 60)
    ratelimit.reset()
    slug = await database_sync_to_async(scenarios.save)(calm_scenario)
    statuses = []
    for value in (101, 102, 103):
        answer = await _request(
            "POST",
            f"/r/{slug}/quick",
            f"consumers%5B0%5D.processing_ms={value}".encode(),
            client="10.1.0.3",
            **{"content-type": "application/x-www-form-urlencoded"},
        )
        statuses.append(answer["status"])
    assert statuses[2] == 429, statuses
    assert b"too many edits from your address" in answer["body"]
    assert 1 <= int(answer["headers"]["retry-after"]) <= 30


async def test_caller_watch_marks_the_caller_gone_on_disconnect() -> None:
    """What a client's leaving looks like to a view: its Caller's callbacks run."""
    seen: list[str] = []
    messages = [
        {"type": "http.request", "body": b"", "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        caller = admission.current()
        assert caller is not None and caller.client == "10.2.0.1"
        caller.on_gone(lambda: seen.append("gone"))
        await receive()  # the body
        assert seen == []
        await receive()  # the client leaves
        assert seen == ["gone"]
        caller.on_gone(lambda: seen.append("late"))  # already gone: called at once
        assert seen == ["gone", "late"]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        raise AssertionError("nothing is sent")

    scope = {"type": "http", "client": ("10.2.0.1", 1234), "path": "/"}
    await admission.CallerWatch(app)(scope, receive, send)
    assert admission.current() is None  # only for that request


# --- lanes: small runs never wait behind heavy ones (playground/cost.py) ------------------------


def heavy(scenario: Scenario, seed: int) -> Scenario:
    """A calm variant that `cost` calls heavy: its duration over the small runs' bound
    (a lower bound, set by the `lanes` fixture, so the run itself stays quick)."""
    source = scenarios.source_of(scenario)
    source["seed"], source["duration_ms"] = seed, 120_000
    return parse_scenario(source)


@pytest.fixture
def lanes(pool: ManualPool, settings: Any, monkeypatch: pytest.MonkeyPatch) -> ManualPool:
    settings.RUN_WORKERS, settings.RUN_SMALL_WORKERS, settings.RUN_QUEUE = 2, 1, 1
    monkeypatch.setattr(cost, "SMALL_PARTITION_SECONDS", 300)  # calm: 240
    return pool


def test_the_cost_estimate_tells_heavy_scenarios_from_small_ones(calm_scenario: Scenario) -> None:
    import sys

    sys.path.insert(0, "bench")
    from load import cap_scenario  # the abuse mix's cap-hitting run (50 consumers, an hour)

    assert not any(cost.estimate(s).heavy for _, s in builtin_scenarios())
    assert cost.estimate(parse_scenario(cap_scenario(1))).heavy
    assert cost.estimate(load_scenario("bench/firehose.yaml")).heavy  # 1.2 million records
    assert not cost.estimate(heavy(calm_scenario, 1)).heavy  # under the real bound
    from scaling import scenario as shaped  # bench/scaling.py: 6 brokers, 20,000 records/s

    # 200,000 records, under the records bound; keyed over 60 partitions they make ~87,000
    # batches (1.8 s of CPU), with null keys over 6, ~1,700 (0.05 s)
    assert cost.estimate(parse_scenario(shaped(200_000, 60, 3, True))).heavy
    assert not cost.estimate(parse_scenario(shaped(200_000, 6, 1, False))).heavy


@pytest.mark.parametrize(
    ("partitions", "rf", "keyed"), [(60, 3, True), (60, 1, True), (6, 3, True), (6, 1, False)]
)
def test_the_batch_estimate_is_within_half_again_of_the_batches_a_run_makes(
    partitions: int, rf: int, keyed: bool
) -> None:
    import sys

    sys.path.insert(0, "bench")
    from scaling import scenario as shaped

    scenario = parse_scenario(shaped(30_000, partitions, rf, keyed))
    made = sum(
        max(len(replica.batches) for replica in part.replicas.values())
        for part in simulate(scenario).sim.cluster.partitions.values()
    )
    assert 1 / 1.5 <= cost.estimate(scenario).batches / made <= 1.5, made


def test_heavy_runs_leave_a_worker_to_small_runs(
    lanes: ManualPool, calm_scenario: Scenario
) -> None:
    first = claim(heavy(calm_scenario, 201), "10.0.0.1")
    second = claim(heavy(calm_scenario, 202), "10.0.0.2")
    assert first.started is not None
    assert second.started is None  # a worker is free, but it is the small runs' own
    small = claim(variant(calm_scenario, 203), "10.0.0.3")
    assert small.started is not None  # at once, beside the heavy run
    assert runner.cache_stats()["running_heavy"] == 1
    lanes.finish(0)
    assert second.started is not None  # the heavy lane moves on when a heavy run ends


def test_a_full_heavy_lane_still_takes_small_runs(
    lanes: ManualPool, settings: Any, calm_scenario: Scenario
) -> None:
    settings.RUN_QUEUE = 4  # small runs: 4 may wait; heavy ones, on 1 worker of 2: 2
    claim(heavy(calm_scenario, 211), "10.0.0.1")  # running
    claim(heavy(calm_scenario, 212), "10.0.0.2")  # waiting
    claim(heavy(calm_scenario, 216), "10.0.0.6")  # waiting: the heavy lane is full
    with pytest.raises(Busy) as refused:  # though the small runs' worker is idle
        claim(heavy(calm_scenario, 214), "10.0.0.4")
    assert "2 heavy runs (seconds each) are waiting" in refused.value.message
    assert claim(variant(calm_scenario, 213), "10.0.0.3").started is not None
    waiting = [claim(variant(calm_scenario, 220 + k), f"10.0.1.{k}") for k in range(4)]
    assert all(job.started is None for job in waiting)  # the small lane's own queue


def test_a_free_worker_takes_a_small_run_before_a_heavy_one(
    lanes: ManualPool, settings: Any, calm_scenario: Scenario
) -> None:
    settings.RUN_WORKERS, settings.RUN_QUEUE = 1, 2  # one worker: nothing reserved, order
    claim(heavy(calm_scenario, 221), "10.0.0.1")
    heavy_waiting = claim(heavy(calm_scenario, 222), "10.0.0.2")
    small_waiting = claim(variant(calm_scenario, 223), "10.0.0.3")
    lanes.finish(0)
    assert small_waiting.started is not None and heavy_waiting.started is None


def test_a_full_heavy_lane_says_when_to_retry_by_heavy_run_times(
    lanes: ManualPool, settings: Any, calm_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A heavy run takes seconds, a small one a tenth of one: each lane's Retry-After comes
    from its own recent runs (an average of both told heavy callers to come back too soon)."""
    monkeypatch.setitem(runner._recent_seconds, runner.HEAVY, 10.0)
    monkeypatch.setitem(runner._recent_seconds, runner.SMALL, 0.1)
    settings.RUN_QUEUE = 2  # heavy ones: 1 may wait (1 worker of 2)
    claim(heavy(calm_scenario, 231), "10.0.0.1")  # running
    claim(heavy(calm_scenario, 232), "10.0.0.2")  # waiting
    with pytest.raises(Busy) as refused:
        claim(heavy(calm_scenario, 233), "10.0.0.3")
    assert refused.value.retry_after == 20  # 10 s × (1 waiting + 1) / 1 heavy worker
    lanes.finish(0)
    assert runner._recent_seconds[runner.HEAVY] < 10.0  # this one was quick: the average moves
    assert runner._recent_seconds[runner.SMALL] == 0.1  # the other lane's is its own
