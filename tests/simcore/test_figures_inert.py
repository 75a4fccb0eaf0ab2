"""User text in Plotly figures is inert: Plotly renders <a href>, <b>, <br> in names and
titles, and a group id or scenario name may hold any text."""

from __future__ import annotations

from simcore import parse_scenario, simulate

LINK = '<a href="https://evil.example/login">Click to re-authenticate</a>'


def test_names_and_title_show_tags_as_text() -> None:
    scenario = parse_scenario(
        {
            "name": f"<b>{LINK}</b>",
            "duration_ms": 2000,
            "topics": [{"name": "t"}],
            "producers": [{"id": "p1", "topic": "t", "messages": 3, "rate_per_s": 10}],
            "consumers": [{"id": "c1", "group": LINK, "topics": ["t"]}],
        }
    )
    figure = simulate(scenario).figures()["offsets"]
    names = [trace.name for trace in figure.data]
    assert (
        '&lt;a href="https://evil.example/login"&gt;Click to re-authenticate&lt;/a&gt;/t-0 lag'
        in names
    )
    texts = [*names, figure.layout.title.text]
    assert not any("<" in text or ">" in text for text in texts)
