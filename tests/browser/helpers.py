"""Helpers shared by the browser tests."""

from __future__ import annotations

from playwright.sync_api import Page

EVERY_FRAME = (
    "() => { const p = document.getElementById('player').dataset;"
    " return p.total && p.loaded === p.total; }"
)


def scrub_to_time(page: Page, at_ms: int) -> None:
    """Drag the scrubber to the first step at or after `at_ms` (simulated), once every
    frame is in; the time is read off the buttons' hidden `at_ms` (the current step's t)."""
    page.wait_for_function(EVERY_FRAME)
    page.evaluate(
        """(at) => {
            // binary search over the steps: the first one at or after `at`, else the last
            const scrub = document.querySelector('.scrub');
            const show = (k) => {
                scrub.value = String(k);
                scrub.dispatchEvent(new Event('input'));
                return Number(document.querySelector('.at-step').value);
            };
            let low = 0, high = Number(scrub.max);
            while (low < high) {
                const mid = Math.floor((low + high) / 2);
                if (show(mid) >= at) high = mid; else low = mid + 1;
            }
            show(low);
        }""",
        at_ms,
    )


def play_at_full_speed(page: Page, timeout_ms: int) -> dict[str, float]:
    """Play the loaded run from its current step at 100x to the end: the steps reached, the
    milliseconds it took and how many steps the player drew (Performance API). Used by the
    playback test and by bench/browser.py."""
    page.locator(".speed select").select_option("100")
    page.evaluate(
        """() => { window.drawn = 0; window.t0 = performance.now();
            document.getElementById('player')
                .addEventListener('player:step', () => { window.drawn += 1; }); }"""
    )
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function(
        "() => document.getElementById('player').dataset.playing === 'false'",
        timeout=timeout_ms,
    )
    played: dict[str, float] = page.evaluate(
        """() => ({ steps: Number(document.getElementById('player').dataset.step),
                    ms: performance.now() - window.t0, drawn: window.drawn })"""
    )
    return played
