"""Settings Kafka accepts that still change the lesson get a note naming the field."""

from simcore import parse_scenario
from simcore.scenario.setting_notes import setting_notes
from tests.simcore.helpers import consumer, scenario


def notes_for(**fields):
    return setting_notes(parse_scenario(scenario(consumers=[consumer(**fields)])))


def test_librdkafka_per_record_commits_with_auto_commit_left_on_get_a_note():
    (note,) = notes_for(client="librdkafka", commit="sync-per-record")
    assert note["field"] == "consumers[0].config.enable.auto.commit"
    assert "skip a message in progress" in note["note"]


def test_java_manual_commits_beside_auto_commit_get_a_milder_note():
    (note,) = notes_for(commit="sync-per-batch")
    assert "auto-commits the positions" in note["note"]


def test_no_note_when_the_settings_agree():
    assert notes_for() == []  # auto-commit alone
    assert notes_for(commit="sync-per-record", config={"enable.auto.commit": False}) == []
