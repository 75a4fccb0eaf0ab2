"""`make bench`'s memory figures are each child's own (bench/peak_memory.py): a child
forked from a large process must not report that process's memory as its peak."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MB = 1024  # KiB

CHILD = """
from bench.peak_memory import peak_rss_kb
before = peak_rss_kb()
block = bytearray(64 * 2**20)
block[::4096] = b"x" * len(block[::4096])  # every page written: resident
print(before, peak_rss_kb())
"""


def test_a_child_of_a_large_process_reports_its_own_peak_and_sees_its_own_growth() -> None:
    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # resident in this process
    out = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, after = (int(n) for n in out.stdout.split())
    assert len(ballast) > 0
    assert before < 100 * MB  # an interpreter's own start, not this process's 300 MB
    assert after - before >= 60 * MB  # the 64 MB the child wrote are counted
    assert after < 200 * MB
