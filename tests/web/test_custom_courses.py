"""Custom courses made from permalinks (custom_courses, course_views): the builder, its
errors, the course's own link, the walk with "previous" and "next", and a room from it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from playground import custom_courses, rooms, scenarios
from playground.models import CustomCourse, Room, SharedScenario
from simcore import builtin_scenario, parse_scenario
from simcore.scenario.courses import MAX_SCENARIOS
from tests.web.helpers import text

pytestmark = pytest.mark.django_db
COURSE = re.compile(r"^/c/([0-9a-f]{16})$")


def two_runs() -> tuple[str, str]:
    return (
        scenarios.save(builtin_scenario("java-auto-commit")),
        scenarios.save(builtin_scenario("acks-1-leader-dies")),
    )


def make(client: Client, items: str, title: str = "Tuesday's class", **extra: str) -> str:
    response = client.post("/courses/new", {"title": title, "items": items, **extra})
    assert response.status_code == 303, text(response)
    found = COURSE.match(response["Location"])
    assert found, response["Location"]
    return found.group(1)


def test_a_course_from_two_permalinks_lists_them_in_order_with_chapters_and_what_to_watch(
    client: Client,
) -> None:
    first, second = two_runs()
    items = (
        "# Commits\n"
        f"http://testserver/r/{first}?at=2000 watch the **committed** offset\n\n"
        "## Durability\n"
        f"/embed/{second}\n"
    )
    course_id = make(client, items, description="Two runs.")
    page = text(client.get(f"/c/{course_id}"))
    assert "Tuesday&#x27;s class" in page and "Two runs." in page
    assert page.index("1. Commits") < page.index("2. Durability")
    assert page.index(f"/c/{course_id}/1") < page.index(f"/c/{course_id}/2")
    assert "watch the <strong>committed</strong> offset" in page
    assert 'name="course" value="c/' + course_id + '"' in page  # a room from it
    stored = CustomCourse.objects.get(slug=course_id).source
    assert [i["at_ms"] for c in stored["chapters"] for i in c["items"]] == [2000, 0]
    # the same list is the same course, under the same link
    assert make(client, items, description="Two runs.") == course_id
    assert CustomCourse.objects.count() == 1


def test_a_custom_course_is_walked_with_previous_and_next(client: Client) -> None:
    first, second = two_runs()
    course_id = make(client, f"# Commits\n/r/{first} the lag\n# Acks\n/r/{second}\n")
    one = text(client.get(f"/c/{course_id}/1"))
    assert 'class="card course-walk"' in one and "scenario <span" in one
    assert f'href="/c/{course_id}/2" rel="next"' in one and 'rel="prev"' not in one
    assert "What to watch:</b> the lag" in one
    assert f'data-slug="{first}"' in one or f"/r/{first}" in one
    two = text(client.get(f"/c/{course_id}/2"))
    assert f'href="/c/{course_id}/1" rel="prev"' in two and 'rel="next"' not in two
    assert f"/r/{second}" in two and "the end of the course" in two
    past = client.get(f"/c/{course_id}/3")
    assert past.status_code == 404 and "position" in text(past) and "1 to 2" in text(past)


def test_a_file_course_is_walked_the_same_way(client: Client) -> None:
    page = text(client.get("/course/kafka-semantics/2"))
    assert 'href="/course/kafka-semantics/1" rel="prev"' in page
    assert 'href="/course/kafka-semantics/3" rel="next"' in page
    assert "/r/" + scenarios.slug_of(builtin_scenario("librdkafka-auto-commit")) in page
    assert 'href="/course/kafka-semantics/1"' in text(client.get("/course/kafka-semantics"))


def test_an_unknown_custom_course_is_a_404_naming_the_field(client: Client) -> None:
    for url in ("/c/0123456789abcdef", "/c/nope", "/c/0123456789abcdef/1"):
        response = client.get(url)
        assert response.status_code == 404 and "<code>course</code>" in text(response)


def many(n: int) -> str:
    """n distinct stored runs, one a line (a built-in with n seeds)."""
    source = scenarios.source_of(builtin_scenario("java-auto-commit"))
    lines = ["# All"]
    for seed in range(n):
        source["seed"] = seed + 1
        lines.append("/r/" + scenarios.save(parse_scenario(source)))
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("title", "items", "field", "said"),
    [
        ("", "# A\n{first}", "title", "is empty"),
        ("   ", "# A\n{first}", "title", "is empty"),
        ("T", "", "items", "is empty"),
        (
            "T",
            "# A\nhttps://example.com/some/page",
            "items",
            "line 2: 'https://example.com/some/page' is not a playground permalink",
        ),
        ("T", "# A\nftp://x/r/{first}", "items", "line 2"),
        (
            "T",
            "# A\n\n/r/0123456789abcdef",
            "items",
            "line 3: no run with the link /r/0123456789abcdef",
        ),
        ("T", "/r/{first}", "items", "line 1: put a chapter title before the first link"),
        ("T", "# A\n/r/{first}\n#\n/r/{first}", "items", "line 3: the chapter title is empty"),
        ("T", "# A\n# B\n/r/{first}", "items", "line 1: that chapter has no links"),
        ("T", "# A\n/r/{first}\n# B", "items", "line 3: that chapter has no links"),
        ("T", "# A\n/r/{first}\n/r/{first}?at=5", "items", "line 3: the same run as line 2"),
        ("T", "# A\n/r/{first}?at=soon", "items", "line 2: ?at='soon' is not a time"),
        ("T", "# A\n/r/{first} " + "w" * 501, "items", "line 2: what to watch is 501 characters"),
    ],
)
def test_bad_input_names_the_field_and_line_and_keeps_the_form(
    client: Client, title: str, items: str, field: str, said: str
) -> None:
    first, _ = two_runs()
    response = client.post("/courses/new", {"title": title, "items": items.format(first=first)})
    assert response.status_code == 400
    page = text(response)
    assert f"<code>{field}</code>: " in page
    assert said.replace("'", "&#x27;") in page
    assert items.format(first=first)[:40].replace("'", "&#x27;") in page  # the form is kept
    assert not CustomCourse.objects.exists()


def test_too_many_runs_names_the_limit(client: Client) -> None:
    response = client.post("/courses/new", {"title": "T", "items": many(MAX_SCENARIOS + 1)})
    assert response.status_code == 400
    assert f"line {MAX_SCENARIOS + 2}: too many runs" in text(response)
    assert f"at most {MAX_SCENARIOS}" in text(response)
    assert (
        client.post("/courses/new", {"title": "T", "items": many(MAX_SCENARIOS)}).status_code == 303
    )


def test_edit_a_copy_fills_the_builder_with_the_course(client: Client) -> None:
    first, second = two_runs()
    course_id = make(client, f"# A\n/r/{first}?at=300 look\n# B\n/r/{second}")
    page = text(client.get(f"/courses/new?from={course_id}"))
    assert f"# A\n/r/{first}?at=300 look\n# B\n/r/{second}" in page
    assert client.get("/courses/new?from=0123456789abcdef").status_code == 404


def test_a_room_from_a_custom_course_starts_at_its_first_run_and_goes_to_the_next(
    client: Client,
) -> None:
    first, second = two_runs()
    course_id = make(client, f"# A\n/r/{first}?at=1500 watch the lag\n# B\n/r/{second}")
    response = client.post("/rooms/new", {"course": f"c/{course_id}"})
    assert response.status_code == 303
    code = response["Location"].split("/")[2]
    room = Room.objects.get(code=code)
    assert (room.course, room.position, room.slug) == (f"c/{course_id}", 0, first)
    assert (room.at_ms, room.step) == (1500, -1)  # opens where the course says
    host = text(client.get(response["Location"]))
    assert "Tuesday&#x27;s class" in host and "What to watch:</b> watch the lag" in host
    room = rooms.goto(code, 1)
    assert (room.position, room.slug, room.step) == (1, second, 0)
    assert rooms.state(room)["course"]["total"] == 2
    with pytest.raises(rooms.RoomError, match="must be 0 to 1"):
        rooms.goto(code, 2)


def test_a_room_from_an_unknown_custom_course_names_the_field(client: Client) -> None:
    response = client.post("/rooms/new", {"course": "c/0123456789abcdef"})
    assert response.status_code == 400 and "<code>course</code>" in text(response)


def test_parse_takes_the_bare_slug_and_any_host() -> None:
    first, second = two_runs()
    source = custom_courses.parse(
        "T", "", f"# A\n{first}\nhttps://play.example:8000/r/{second}/share?at=7"
    )
    items = source["chapters"][0]["items"]
    assert [(i["slug"], i["at_ms"]) for i in items] == [(first, 0), (second, 7)]


def test_a_run_that_no_longer_validates_is_an_error_naming_the_position(client: Client) -> None:
    first, second = two_runs()
    course_id = make(client, f"# A\n/r/{first}\n/r/{second}")
    code = client.post("/rooms/new", {"course": f"c/{course_id}"})["Location"].split("/")[2]
    SharedScenario.objects.filter(slug=second).update(source={"nonsense": 1})
    with pytest.raises(rooms.RoomError) as refused:
        rooms.goto(code, 1)
    assert refused.value.payload["field"] == "position" and "no longer validates" in str(
        refused.value
    )
    assert client.get(f"/c/{course_id}/2").status_code == 404  # the page says so too


def test_a_walk_page_is_rendered_once_and_revalidated_like_a_scenario_page(
    client: Client,
) -> None:
    first, second = two_runs()
    course_id = make(client, f"# A\n/r/{first} the lag\n/r/{second}")
    page = client.get(f"/c/{course_id}/1")
    assert page.status_code == 200 and page["ETag"]
    again = client.get(f"/c/{course_id}/1", headers={"if-none-match": page["ETag"]})
    assert again.status_code == 304
    other = client.get(f"/c/{course_id}/2", headers={"if-none-match": page["ETag"]})
    assert other.status_code == 200 and other["ETag"] != page["ETag"]
    # the same run in another course, or with other words to watch, is another page
    elsewhere = make(client, f"# A\n/r/{first} the offsets\n/r/{second}")
    moved = client.get(f"/c/{elsewhere}/1", headers={"if-none-match": page["ETag"]})
    assert moved.status_code == 200 and "the offsets" in text(moved)
