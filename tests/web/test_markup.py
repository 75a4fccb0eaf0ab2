"""The description's tiny Markdown: headings follow the page's outline."""

from playground.markup import render_markdown


def test_the_shallowest_heading_is_an_h3_and_deeper_ones_follow():
    html = render_markdown("Intro\n\n## What to watch\n\n- a\n\n### Deeper\n\ntext")
    assert "<h3>What to watch</h3>" in html and "<h4>Deeper</h4>" in html
    assert "<h3>Top</h3>" in render_markdown("# Top\n\n## Next") and "<h4>Next</h4>" in (
        render_markdown("# Top\n\n## Next")
    )
    assert "<h5>" in render_markdown("# a\n\n## b\n\n### c\n\n#### d\n\n##### e")
    assert "<h6>" not in render_markdown("# a\n\n## b\n\n### c\n\n#### d\n\n##### e")
