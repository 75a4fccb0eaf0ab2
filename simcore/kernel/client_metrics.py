"""Client metrics as Kafka's clients compute them: windowed stats over samples.

A client sensor keeps ``metrics.num.samples`` (2) samples of ``metrics.sample.window.ms``
(30 s) each ([J] org.apache.kafka.common.metrics: MetricConfig, stats.SampledStat):

- a record goes into the current sample; when that sample is complete (the record is at
  least a window after the sample's first record) a new sample starts with it, replacing
  the oldest (``SampledStat.record`` / ``advance``);
- reading a metric first resets every sample that started ``samples × window`` or more
  ago (``purgeObsoleteSamples``), then combines what is left;
- ``Rate`` (``records-consumed-rate``, ``record-send-rate``) divides the sum by the time
  since the oldest sample started, but never by less than ``samples − 1`` full windows
  (``Rate.windowSize``): 100 records in the first 12 s read as 100 / 42 s, not 100 / 12 s;
- ``Avg`` (``fetch-latency-avg``, ``commit-latency-avg``, ``request-latency-avg``) is the
  sum over the count; ``Max`` (``records-lag-max``) the largest value; both are NaN (here
  None) when the retained samples hold no record.

The playground reads each metric once, at the moment shown; a real client that is read
more often resets obsolete samples at those reads too, which can move later sample
boundaries a little. Records arrive here in any order during the run (a long poll's idle
rounds are recorded when its answer comes) and are sorted once, after the run.
"""

from __future__ import annotations

import itertools
import struct
from array import array
from bisect import bisect_right
from typing import Final

SAMPLES: Final = 2  # metrics.num.samples
WINDOW_MS: Final = 30_000  # metrics.sample.window.ms
PENDING: Final = 4096  # records a sensor holds in lists before it packs them into its columns


class Sensor:
    """The values one client recorded into one sensor: two int64 columns, the times (ms)
    and the values (a consumer's fetch sensors take a record per FetchResponse: hundreds of
    thousands in a long run, 16 bytes each here instead of a tuple and its ints). The
    latest records wait in two lists and are packed into the columns ``PENDING`` at a
    time: an array's own ``append`` parses each int like a format string, and costs more
    than the rest of a fetch response's metrics."""

    __slots__ = (
        "_built", "_firsts", "_max", "_max_only", "_pending_times", "_pending_values",
        "_sample", "_starts", "_sums", "_times", "times", "values",
    )  # fmt: skip

    def __init__(self, max_only: bool = False) -> None:
        self.times = array("q")
        self.values = array("q")  # every sensor here counts whole things: records, ms
        self._pending_times: list[int] = []
        self._pending_values: list[int] = []
        self._built = -1  # how many records the index below was built from
        # read by max() alone (records-lag-max): records of one instant fold into one,
        # their largest — they fall in one sample, so Max reads the same
        self._max_only = max_only

    def record(self, time_ms: int, value: int) -> None:
        times = self._pending_times
        if self._max_only and times and times[-1] == time_ms:
            values = self._pending_values
            if value > values[-1]:
                values[-1] = value
            return
        times.append(time_ms)
        self._pending_values.append(value)
        if len(times) >= PENDING:
            self._pack()

    def _pack(self) -> None:
        """The pending records join the columns (``struct`` converts them in one call)."""
        count = len(self._pending_times)
        if count:
            self.times.frombytes(struct.pack(f"{count}q", *self._pending_times))
            self.values.frombytes(struct.pack(f"{count}q", *self._pending_values))
            self._pending_times.clear()
            self._pending_values.clear()

    def _build(self) -> array[int]:
        """The read index, in arrays (a list of int and float objects per record took
        ~80 bytes a record: 45 MB for a 600 k-record run's consumer sensors)."""
        self._pack()
        raw_times, raw_values = self.times, self.values
        if all(a <= b for a, b in itertools.pairwise(raw_times)):
            times, values = raw_times, raw_values  # recorded in time order: no sort
        else:
            order = sorted(range(len(raw_values)), key=raw_times.__getitem__)  # stable sort
            times = array("q", [raw_times[i] for i in order])
            values = array("q", [raw_values[i] for i in order])
        starts: list[int] = []  # each sample's start time
        firsts: list[int] = []  # each sample's first record index
        sample = array("q")  # each record's sample
        sums = array("d", [0.0])  # prefix sums of the values
        running_max = array("q")  # max within the record's sample, up to the record
        for index, t in enumerate(times):
            value = values[index]
            if not starts or t - starts[-1] >= WINDOW_MS:  # Sample.isComplete
                starts.append(t)
                firsts.append(index)
                running_max.append(value)
            else:
                previous = running_max[-1]
                running_max.append(value if value > previous else previous)
            sample.append(len(starts) - 1)
            sums.append(sums[-1] + value)
        self._times, self._starts, self._firsts = times, starts, firsts
        self._sample, self._sums, self._max = sample, sums, running_max
        self._built = len(times)
        return times

    def _retained(self, now: int) -> tuple[float, int, int | None, int]:
        """(sum, count, max, oldest sample start) over the samples a read at ``now`` sees."""
        fresh = self._built == len(self.values) and not self._pending_times
        times = self._times if fresh else self._build()
        last = bisect_right(times, now) - 1
        if last < 0:
            return 0.0, 0, None, now  # no sample yet: one is made at the read
        current = self._sample[last]
        total, count, oldest = 0.0, 0, now
        largest: int | None = None
        for s in range(max(0, current - SAMPLES + 1), current + 1):
            start = self._starts[s]
            if now - start >= SAMPLES * WINDOW_MS:
                continue  # obsolete: reset at the read (its start becomes now)
            first = self._firsts[s]
            end = last if s == current else self._firsts[s + 1] - 1
            total += self._sums[end + 1] - self._sums[first]
            count += end - first + 1
            peak = self._max[end]
            largest = peak if largest is None else max(largest, peak)
            oldest = min(oldest, start)
        return total, count, largest, oldest

    def rate(self, now: int) -> float:
        """Per second ([J] stats.Rate.measure and windowSize)."""
        self._not_max_only("rate")
        total, _count, _max, oldest = self._retained(now)
        elapsed = now - oldest
        full_windows = elapsed // WINDOW_MS
        if full_windows < SAMPLES - 1:
            elapsed += (SAMPLES - 1 - full_windows) * WINDOW_MS
        return total / (max(elapsed, 1) / 1000)

    def avg(self, now: int) -> float | None:
        self._not_max_only("avg")
        total, count, _max, _oldest = self._retained(now)
        return total / count if count else None

    def max(self, now: int) -> int | None:
        return self._retained(now)[2]

    def _not_max_only(self, stat: str) -> None:
        if self._max_only:
            raise ValueError(f"a max-only sensor folds the records of an instant: no {stat}")
