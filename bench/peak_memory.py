"""A benchmark child's own peak memory, whatever the size of the process that started it.

``getrusage(RUSAGE_SELF).ru_maxrss`` is not that: Linux keeps the larger of the old and
the new address space's high-water mark across ``execve`` (fs/exec.c, exec_mmap →
setmax_mm_hiwater_rss into signal->maxrss), so a child that ``make bench`` forks while
its own process holds 144 MB reports at least 144 MB, even when it used 40. ``VmHWM`` in
``/proc/self/status`` is the high-water mark of the current address space only, which
``execve`` starts afresh (proc(5)).
"""

from __future__ import annotations


def peak_rss_kb() -> int:
    """This process's peak resident set since it started its program, in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no VmHWM line")
