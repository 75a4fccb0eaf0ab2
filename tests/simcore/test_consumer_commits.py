"""How each commit strategy and client family turns a crash into loss or duplicates."""

from tests.simcore.helpers import consumer, kinds, outcomes, run, scenario

SLOW = {"processing_ms": 3000}
CRASH_5500 = [{"action": "crash", "target": "c1", "at_ms": 5500, "restart_after_ms": 1000}]


def test_it_replays_but_never_loses_with_java_auto_commit():
    result = run(scenario(consumers=[consumer(**SLOW)], faults=CRASH_5500))
    group = result.ledger["groups"]["g"]
    assert group["processed_never"] == 0
    assert group["processed_multiple"] >= 1
    # the auto-commit inside poll() only ever covers records of *earlier* polls
    assert "commit_async" not in kinds(result)[: kinds(result).index("crash")]


def test_it_loses_the_in_flight_message_with_librdkafka_auto_commit():
    result = run(scenario(consumers=[consumer(client="librdkafka", **SLOW)], faults=CRASH_5500))
    assert outcomes(result)["p1#1"] == "never processed"
    assert result.ledger["groups"]["g"]["processed_never"] == 1
    assert result.ledger["groups"]["g"]["skipped"] == 1  # passed over, not merely unread


def test_it_does_not_lose_with_librdkafka_when_offsets_are_stored_after_processing():
    c = consumer(client="librdkafka", config={"enable.auto.offset.store": False}, **SLOW)
    result = run(scenario(consumers=[c], faults=CRASH_5500))
    assert result.ledger["groups"]["g"]["processed_never"] == 0


def test_it_resumes_at_the_committed_offset_not_after_it():
    faults = [
        {
            "action": "crash",
            "target": "c1",
            "point": "after_commit",
            "offset": 1,
            "restart_after_ms": 100,
        }
    ]
    c = consumer(commit="sync-per-record", config={"enable.auto.commit": False}, **SLOW)
    result = run(scenario(consumers=[c], faults=faults))
    positions = [e[3] for e in result.events if e[1] == "position"]
    assert positions[-1]["offset"] == 2 and positions[-1]["why"] == "committed offset"
    assert result.ledger["groups"]["g"] == {
        "processed_once": 3,
        "processed_never": 0,
        "processed_multiple": 0,
        "skipped": 0,
        "unread": 0,
        "expired_unread": 0,
        "processing_total": 3,
    }


def test_it_processes_twice_a_record_that_crashed_before_its_commit():
    faults = [
        {
            "action": "crash",
            "target": "c1",
            "point": "after_process",
            "offset": 1,
            "restart_after_ms": 100,
        }
    ]
    c = consumer(commit="sync-per-record", config={"enable.auto.commit": False}, **SLOW)
    result = run(scenario(consumers=[c], faults=faults))
    assert outcomes(result) == {
        "p1#0": "processed once",
        "p1#1": "processed 2 times",
        "p1#2": "processed once",
    }


def test_it_counts_a_record_only_once_its_processing_time_elapsed():
    faults = [{"action": "crash", "target": "c1", "at_ms": 4000}]  # mid second record
    c = consumer(commit="sync-per-record", config={"enable.auto.commit": False}, **SLOW)
    result = run(scenario(consumers=[c], faults=faults))
    assert outcomes(result) == {
        "p1#0": "processed once",
        "p1#1": "never processed",
        "p1#2": "never processed",
    }


def test_it_crashes_after_poll_before_any_processing():
    faults = [{"action": "crash", "target": "c1", "point": "after_poll", "offset": 0}]
    result = run(scenario(consumers=[consumer(**SLOW)], faults=faults))
    assert result.ledger["groups"]["g"]["processing_total"] == 0
    assert "crash" in kinds(result, "c1")


def test_it_retries_commit_sync_on_retriable_errors():
    faults = [{"action": "commit_fail", "target": "c1", "at_ms": 0, "count": 2}]
    c = consumer(commit="sync-per-batch", config={"enable.auto.commit": False})
    result = run(scenario(consumers=[c], faults=faults))
    assert kinds(result, "c1").count("commit_retry") == 2
    assert result.groups_table()[0]["CURRENT-OFFSET"] == 3
    assert result.errors == []


def test_it_throws_commit_failed_on_a_non_retriable_error():
    faults = [{"action": "commit_fail", "target": "c1", "at_ms": 0, "retriable": False}]
    c = consumer(commit="sync-per-batch", config={"enable.auto.commit": False})
    result = run(scenario(consumers=[c], faults=faults))
    assert len(result.errors) == 1 and "CommitFailedException" in result.errors[0]


def test_it_gives_up_commit_sync_after_default_api_timeout():
    faults = [{"action": "commit_timeout", "target": "c1", "at_ms": 0, "count": 5}]
    c = consumer(commit="sync-per-batch", config={"enable.auto.commit": False})
    result = run(scenario(duration_ms=90000, consumers=[c], faults=faults))
    failed = [e for e in result.events if e[1] == "consumer_failed"]
    assert len(failed) == 1 and "TimeoutException" in failed[0][3]["error"]
    # first attempt waits request.timeout.ms (30 s), the retry runs past the 60 s budget
    assert 60000 <= failed[0][0] <= 61000


def test_it_never_retries_a_failed_commit_async():
    faults = [{"action": "commit_fail", "target": "c1", "at_ms": 0, "count": 1}]
    c = consumer(commit="async", config={"enable.auto.commit": False})
    result = run(scenario(consumers=[c], faults=faults))
    failed = [e[3] for e in result.events if e[1] == "commit_failed"]
    assert len(failed) == 1 and failed[0]["retry"] is False


def test_it_lets_a_retried_old_commit_overwrite_a_newer_one():
    # commit @1 fails, but @2 and @3 were sent before its error came back (40 ms round
    # trip, 10 ms per record); the callback then re-sends @1 after them
    producers = [{"id": "p1", "topic": "orders", "messages": 3, "rate_per_s": 1000}]
    faults = [{"action": "commit_fail", "target": "c1", "at_ms": 0, "count": 1}]
    c = consumer(
        commit="async-with-retry",
        processing_ms=10,
        config={"enable.auto.commit": False, "max.poll.records": 1},
    )
    result = run(scenario(network_latency_ms=20, producers=producers, consumers=[c], faults=faults))
    stored = [e[3]["offsets"][-1][1] for e in result.events if e[1] == "commit_stored"]
    assert stored == [2, 3, 1]


def test_it_fails_every_commit_queued_behind_a_lost_one():
    # Kafka answers a connection's requests in order: once a commit is lost, later ones
    # wait behind it and all fail together when request.timeout.ms closes the connection
    producers = [{"id": "p1", "topic": "orders", "messages": 3, "rate_per_s": 1000}]
    faults = [{"action": "commit_timeout", "target": "c1", "at_ms": 0, "count": 1}]
    c = consumer(
        commit="async-with-retry",
        processing_ms=1000,
        config={"enable.auto.commit": False, "max.poll.records": 1},
    )
    result = run(scenario(duration_ms=60000, producers=producers, consumers=[c], faults=faults))
    failed = [e for e in result.events if e[1] == "commit_failed"]
    assert len(failed) == 3 and {e[0] for e in failed} == {failed[0][0]}
    assert failed[0][0] >= 30000  # request.timeout.ms
    stored = [e[3]["offsets"][-1][1] for e in result.events if e[1] == "commit_stored"]
    assert stored == [1, 2, 3]  # re-sent in call order: nothing older lands last


def test_it_resets_a_new_group_to_the_high_watermark_with_latest():
    c = consumer(start_ms=2000, config={"auto.offset.reset": "latest"})
    result = run(scenario(consumers=[c]))
    assert result.ledger["groups"]["g"]["processed_never"] == 3
    assert result.groups_table()[0]["LOG-END-OFFSET"] == 3


def test_records_passed_over_by_latest_are_skipped_even_with_no_commit():
    # nothing is ever committed (the auto-commit interval outlasts the run): a restart
    # would reset to the HW again, so the three older records are lost to this group,
    # and kafka-consumer-groups shows no lag for them
    c = consumer(
        start_ms=2000, config={"auto.offset.reset": "latest", "auto.commit.interval.ms": 60000}
    )
    result = run(scenario(consumers=[c]))
    group = result.ledger["groups"]["g"]
    assert (group["skipped"], group["unread"]) == (3, 0)
    assert result.groups_table()[0]["LAG"] == "-"
    story = [e["text"] for e in result.message_story("p1#0")]
    assert any("skips what lies below offset 3" in text for text in story), story


def test_it_fails_a_new_group_with_reset_none():
    c = consumer(start_ms=2000, config={"auto.offset.reset": "none"})
    result = run(scenario(consumers=[c]))
    assert "NoOffsetForPartitionException" in result.errors[0]
    assert result.groups_table() == []


def test_it_reports_lag_like_kafka_consumer_groups():
    producers = [{"id": "p1", "topic": "orders", "messages": 7, "rate_per_s": 1000}]
    faults = [{"action": "crash", "target": "c1", "point": "after_commit", "offset": 2}]
    c = consumer(commit="sync-per-record", config={"enable.auto.commit": False}, **SLOW)
    row = run(scenario(producers=producers, consumers=[c], faults=faults)).groups_table()[0]
    assert (row["CURRENT-OFFSET"], row["LOG-END-OFFSET"], row["LAG"]) == (3, 7, 4)
    assert row["CONSUMER-ID"] == "-"  # the crashed member holds nothing


def test_it_splits_partitions_across_a_group_with_the_range_assignor():
    topics = [{"name": "orders", "partitions": 3, "replication_factor": 1}]
    result = run(scenario(topics=topics, consumers=[consumer(id="c1"), consumer(id="c2")]))
    owners = {(r["PARTITION"], r["CLIENT-ID"]) for r in result.groups_table()}
    assert owners == {(0, "c1"), (1, "c1"), (2, "c2")}


def test_it_waits_for_fetch_min_bytes_or_fetch_max_wait():
    # one small batch at t=5 ms never reaches 1 MB: the fetch answers at fetch.max.wait.ms
    c = consumer(config={"fetch.min.bytes": 1_000_000, "fetch.max.wait.ms": 2000})
    result = run(scenario(consumers=[c]))
    first_poll = next(e for e in result.events if e[1] == "poll")
    assert 2000 <= first_poll[0] <= 2100
    eager = next(e for e in run(scenario()).events if e[1] == "poll")
    assert eager[0] < 20


def test_it_tells_the_story_of_the_message_librdkafka_skipped():
    result = run(scenario(consumers=[consumer(client="librdkafka", **SLOW)], faults=CRASH_5500))
    story = [(e["kind"], e["actor"]) for e in result.message_story("p1#1")]
    poll = story.index(("poll", "c1"))
    commit = story.index(("commit_stored", "coordinator"))
    crash = story.index(("crash", "c1"))
    assert poll < commit < crash  # handed out, committed past, then the crash took it
    assert ("processed", "c1") not in story
