"""Courses: built-ins in chapters, checked like scenarios (simcore/scenario/courses.py)."""

import pytest

import simcore
from simcore.kernel.errors import ScenarioError
from simcore.scenario.courses import courses, parse_course


def test_the_course_follows_the_curriculum_and_covers_every_built_in():
    course = courses()["kafka-semantics"]
    assert [c.title.split()[0] for c in course.chapters] == [
        "Offsets,",
        "Producer",
        "Groups,",
        "Transactions",
        "Follower",
        "Processing",
        "Security:",
    ]
    assert sorted(course.order()) == sorted(name for name, _ in simcore.builtin_scenarios())
    assert course.neighbours("java-auto-commit") == (None, "librdkafka-auto-commit")
    assert course.neighbours("basic-lag") == ("offset-reset-none", "acks-0-fire-and-forget")
    assert course.neighbours(course.order()[-1])[1] is None


def chapters(*names):
    return {"name": "c", "chapters": [{"title": "one", "scenarios": list(names)}]}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (
            chapters("java-auto-comit"),
            "chapters[0].scenarios[0]",
            "did you mean 'java-auto-commit'",
        ),
        (chapters("basic-lag", "basic-lag"), "chapters[0].scenarios[1]", "already in the course"),
        (chapters(), "chapters[0].scenarios", "at least one scenario"),
        ({"name": "c", "chapters": []}, "chapters", "at least one chapter"),
        (
            {"name": "c", "chapters": [{"title": "x", "scenarios": ["basic-lag"], "level": 1}]},
            "chapters[0].level",
            "unknown",
        ),
        ({"chapters": [{"title": "x", "scenarios": ["basic-lag"]}]}, "name", "required"),
    ],
)
def test_a_bad_course_names_its_field(data, field, words):
    with pytest.raises(ScenarioError) as caught:
        parse_course("c", data)
    assert caught.value.field == field
    assert words in str(caught.value)
