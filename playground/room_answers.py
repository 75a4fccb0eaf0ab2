"""Answers to a room's question, written in batches: a group commit per process and room.

One answer per transaction made the instructor's count reach 200 only 6–8 s after a
question opened on SQLite: each commit waits for its fsync (~15 ms here), and all of a
process's database calls go through one thread (Channels' `database_sync_to_async`). Here
a connection hands its answer to this process's writer for the room and waits for the
verdict on it. The writer takes everything that has arrived, writes it in one transaction
(`rooms.answer_many`: the row locked, every rule checked per answer), tells each waiting
connection its result, and goes again while answers keep arriving. So a lone answer is
written at once, as before, and a burst costs one commit per batch instead of one per
answer.

Nothing is counted in memory: an answer is acknowledged ("answered") only once its
transaction has committed, and the count the instructor sees is read from the table, so a
restart loses no acknowledged answer and counts none twice (the unique constraint on
(room, poll, participant) stays the last word). The reveal first waits for this process's
writer to finish (`drain`): an answer that reached the server before the reveal is
counted; one from another process still in flight when the reveal commits is refused with
an error naming `question`, as any answer after the reveal is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channels.db import database_sync_to_async

from playground import rooms
from playground.rooms import Answer


@dataclass
class _Writer:
    loop: asyncio.AbstractEventLoop
    queue: list[tuple[Answer, asyncio.Future[None]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class AnswerWriter:
    """This process's writers, one per room that has answers on the way; `written(code)`
    is called once per batch that recorded at least one answer (the instructors' counts)."""

    def __init__(self, written: Callable[[str], Awaitable[None]]) -> None:
        self.written = written
        self.writers: dict[str, _Writer] = {}
        self.batches = 0  # transactions written (tests and the benchmark read it)

    async def submit(self, code: str, answer: Answer) -> None:
        """Returns once the answer is committed; raises the RoomError that refused it."""
        loop = asyncio.get_running_loop()
        writer = self.writers.get(code)
        if writer is None or writer.loop is not loop:
            writer = self.writers[code] = _Writer(loop)
        done: asyncio.Future[None] = loop.create_future()
        writer.queue.append((answer, done))
        if writer.task is None or writer.task.done():
            writer.task = asyncio.create_task(self._write(code, writer))
        await done

    async def drain(self, code: str) -> None:
        """Returns once every answer this process has received for the room is written."""
        writer = self.writers.get(code)
        if writer is not None and writer.task is not None and not writer.task.done():
            await asyncio.shield(writer.task)

    async def _write(self, code: str, writer: _Writer) -> None:
        await asyncio.sleep(0)  # the answers already read off other sockets join this batch
        try:
            while writer.queue:
                batch, writer.queue = writer.queue, []
                try:
                    results = await database_sync_to_async(rooms.answer_many)(
                        code, [answer for answer, _ in batch]
                    )
                except Exception as err:  # a database failure: every waiter hears of it
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(err)
                    continue
                self.batches += 1
                if any(result is None for result in results):
                    await self.written(code)
                for (_, done), result in zip(batch, results, strict=True):
                    if done.done():  # its connection went away
                        continue
                    if result is None:
                        done.set_result(None)
                    else:
                        done.set_exception(result)
        finally:
            if self.writers.get(code) is writer and not writer.queue:
                del self.writers[code]
