"""Questions authored in a scenario, answered by the run (simcore/scenario/questions.py)."""

import pytest

import simcore
from simcore.kernel.errors import ScenarioError
from tests.simcore.helpers import consumer, run, scenario


def asking(*questions, **changes):
    return scenario(questions=list(questions), **changes)


def test_the_run_answers_each_kind_of_question():
    crash = [{"action": "crash", "target": "c1", "at_ms": 1000, "restart_after_ms": 2000}]
    data = asking(
        {
            "id": "twice",
            "ask": "How many are processed twice?",
            "answer": "ledger.groups.g.processed_multiple",
        },
        {"id": "sent", "ask": "How many are sent?", "answer": "ledger.topics.orders.sent"},
        {
            "id": "who",
            "ask": "Who owns orders-0 at 2 s?",
            "answer": "owner g orders-0 at 2000",
            "choices": ["c1", "nobody"],
        },
        {"id": "err", "ask": "Will p1 see an error?", "answer": "error p1", "at_ms": 500},
        faults=crash,
        consumers=[consumer(config={"session.timeout.ms": 6000})],
    )
    result = run(data)
    got = {q["id"]: q["answer"] for q in result.questions()}
    ledger = result.ledger
    # c1 crashes at 1 s, before its first auto-commit (5 s): the three are done again
    assert got["twice"] == ledger["groups"]["g"]["processed_multiple"] == 3
    assert got["sent"] == 3
    assert got["who"] == "nobody"  # c1 crashed at 1 s and is back only at 3 s
    assert got["err"] == "no"
    assert result.questions()[3]["choices"] == ["yes", "no"]
    assert result.questions()[3]["at_ms"] == 500
    assert result.summary()["questions"] == result.questions()
    # at the end the partition is c1's again
    data["questions"][2]["answer"] = "owner g orders-0"
    data["questions"][2]["choices"] = ["c1", "nobody"]
    assert run(data).questions()[2]["answer"] == "c1"


def test_an_answer_outside_the_choices_is_an_error_naming_the_question():
    data = asking(
        {"id": "who", "ask": "Owner?", "answer": "owner g orders-0", "choices": ["c7", "nobody"]}
    )
    with pytest.raises(ScenarioError) as caught:
        run(data).questions()
    assert caught.value.field == "questions[0].choices"
    assert "'c1' is not among the choices" in str(caught.value)


@pytest.mark.parametrize(
    ("question", "field", "words"),
    [
        (
            {"id": "q", "ask": "?", "answer": "ledger.groups.nope.processed_once"},
            "answer",
            "no group",
        ),
        (
            {"id": "q", "ask": "?", "answer": "ledger.topics.orders.lost"},
            "answer",
            "not a ledger counter",
        ),
        ({"id": "q", "ask": "?", "answer": "how many"}, "answer", "must be one of ledger.groups"),
        ({"id": "q", "ask": "?", "answer": "owner g orders-9"}, "answer", "no partition"),
        (
            {"id": "q", "ask": "?", "answer": "owner g orders-0 at 99999999"},
            "answer",
            "after the run",
        ),
        ({"id": "q", "ask": "?", "answer": "error c9"}, "answer", "no client"),
        ({"id": "q", "ask": "?", "answer": "owner g orders-0"}, "choices", "needs its choices"),
        (
            {"id": "q", "ask": "?", "answer": "ledger.topics.orders.sent", "choices": ["1", "2"]},
            "choices",
            "takes no choices",
        ),
        ({"id": "q", "ask": "?", "answer": "error p1", "choices": ["yes"]}, "choices", "2 to 8"),
        ({"id": "q", "ask": "?", "answer": "error p1", "colour": 1}, "colour", "unknown"),
        ({"id": "q", "ask": "", "answer": "error p1"}, "ask", "empty"),
    ],
)
def test_a_bad_question_names_its_field(question, field, words):
    with pytest.raises(ScenarioError) as caught:
        simcore.parse_scenario(asking(question))
    assert caught.value.field == f"questions[0].{field}"
    assert words in str(caught.value)


def test_two_questions_cannot_share_an_id():
    q = {"id": "q", "ask": "?", "answer": "error p1"}
    with pytest.raises(ScenarioError) as caught:
        simcore.parse_scenario(asking(q, dict(q)))
    assert caught.value.field == "questions[1].id"


def test_every_built_in_question_has_an_answer_among_its_choices():
    asked = 0
    for _slug, built_in in simcore.builtin_scenarios():
        for q in simcore.simulate(built_in).questions():
            asked += 1
            assert (
                q["answer"] in q["choices"]
                if q["kind"] == "choice"
                else isinstance(q["answer"], int)
            )
    assert asked >= 4
