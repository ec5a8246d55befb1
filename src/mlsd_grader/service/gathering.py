"""The grading queue: requests' answers wait in a bounded queue, and one worker grades whatever has
gathered in a single ``Grader.grade_many`` call, in a thread, so concurrent requests share encoder
batches and the event loop never grades.

Every job's future is resolved exactly once: with its results, with the error that stopped its
``grade_many`` call, or, at shutdown, with ``ShuttingDown``. A full queue refuses at once (``QueueFull``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..batch import BatchRecord, BatchResult, InputFailure
from ..grader import ANSWERS_PER_CHUNK, Grader
from ..rubric import Rubric

__all__ = ["GatherObserver", "GradingItem", "GradingQueue", "OverLimit", "QueueFull", "ShuttingDown"]

# A call takes waiting jobs, whole, until it holds this many answers: grade_many encodes this many
# answers' sentences in one embedder call, so gathering more only makes the first answers wait longer.
GATHER_ANSWERS = ANSWERS_PER_CHUNK

# A record to grade and the rubric for it when the record names none (an inline rubric object).
GradingItem = tuple[BatchRecord | InputFailure, Rubric | None]

# (answers graded, seconds the grade_many calls took) after each gathered call, for the metrics.
GatherObserver = Callable[[int, float], None]


class QueueFull(Exception):
    """The queue cannot take the request's answers now; ``retry_after`` is a fair wait in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("the grading queue is full")
        self.retry_after = retry_after


class OverLimit(Exception):
    """The request holds more answers than the whole queue: it could never be taken."""


class ShuttingDown(Exception):
    """The service stopped before the job was graded."""


@dataclass(eq=False)
class _Job:
    """One request's items, accepted or refused whole."""

    items: list[GradingItem]
    future: asyncio.Future[list[BatchResult]] = field(repr=False)


class GradingQueue:
    """A bounded queue of grading jobs and the worker that grades them in gathered calls."""

    def __init__(
        self, grader: Grader, *, window_s: float, limit: int, observe: GatherObserver | None = None
    ) -> None:
        self._grader = grader
        self._window_s = window_s
        self._limit = limit
        self._observe = observe
        self._jobs: deque[_Job] = deque()
        self._arrived = asyncio.Event()
        self._depth = 0  # answers in self._jobs
        self._grading = 0  # answers in the grade_many call under way
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self._seconds_per_answer = 0.0  # of the last gathered call, for Retry-After

    @property
    def depth(self) -> int:
        """Answers waiting for the worker (not those being graded)."""
        return self._depth

    @property
    def grading(self) -> int:
        """Answers in the grade_many call under way."""
        return self._grading

    @property
    def alive(self) -> bool:
        """The worker runs (it stops only at shutdown, or on a bug)."""
        return self._worker is not None and not self._worker.done()

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="mlsd-grader-worker")
        self._worker.add_done_callback(self._worker_ended)

    def _worker_ended(self, task: asyncio.Task[None]) -> None:
        """However the worker ends (shutdown, or a bug), no job is left waiting for it."""
        del task
        self._fail_waiting("the service is shutting down" if self._closed else "the grading worker stopped")

    def _fail_waiting(self, reason: str) -> None:
        self._closed = True
        while self._jobs:
            _settle(self._jobs.popleft(), error=ShuttingDown(reason))
        self._depth = 0

    async def close(self) -> None:
        """Stop the worker; jobs still waiting get ``ShuttingDown`` (the server drains requests first)."""
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        self._fail_waiting("the service is shutting down")

    def retry_after(self) -> int:
        """Seconds until the waiting answers are likely graded, at the last call's pace (at least 1)."""
        return max(1, math.ceil(self._depth * self._seconds_per_answer))

    async def grade(self, items: Sequence[GradingItem]) -> list[BatchResult]:
        """Grade the items (one result each, in order) in the worker's next gathered call. Record ids
        must be unique among all requests: grade_many takes a repeated id for an error."""
        if self._closed:
            raise ShuttingDown("the service is shutting down")
        if len(items) > self._limit:
            raise OverLimit(f"the request holds {len(items)} answers; this server's queue holds {self._limit}")
        if self._depth + len(items) > self._limit:
            raise QueueFull(self.retry_after())
        job = _Job(list(items), asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._depth += len(job.items)
        self._arrived.set()
        return await job.future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._jobs:
                self._arrived.clear()
                await self._arrived.wait()
            # The window opens with the first waiting job; jobs only leave the deque below, so waiting on
            # the event (never on the deque) cannot lose one.
            deadline = loop.time() + self._window_s
            while self._depth < GATHER_ANSWERS and (remaining := deadline - loop.time()) > 0:
                self._arrived.clear()
                try:
                    async with asyncio.timeout(remaining):
                        await self._arrived.wait()
                except TimeoutError:
                    break
            taken = [self._jobs.popleft()]
            count = len(taken[0].items)
            while self._jobs and count + len(self._jobs[0].items) <= GATHER_ANSWERS:
                taken.append(self._jobs.popleft())
                count += len(taken[-1].items)
            self._depth -= count
            self._grading = count
            start = time.perf_counter()
            try:
                results = await asyncio.to_thread(self._grade, taken)
            except asyncio.CancelledError:
                for job in taken:
                    _settle(job, error=ShuttingDown("the service is shutting down"))
                raise
            except Exception as exc:  # noqa: BLE001 - the error of a whole call goes to each of its jobs
                for job in taken:
                    _settle(job, error=exc)
                continue
            finally:
                self._grading = 0
            elapsed = time.perf_counter() - start
            self._seconds_per_answer = elapsed / max(count, 1)
            for job, result in zip(taken, results):
                _settle(job, results=result)
            if self._observe is not None:
                self._observe(count, elapsed)

    def _grade(self, jobs: Sequence[_Job]) -> list[list[BatchResult]]:
        """Grade the jobs' items: one grade_many call for the records that name their rubric and one per
        inline rubric (grade_many takes one default rubric); each job's results in its items' order."""
        groups: dict[str | None, tuple[Rubric | None, list[tuple[int, int]]]] = {}
        for j, job in enumerate(jobs):
            for i, (_, rubric) in enumerate(job.items):
                key = rubric.content_hash if rubric is not None else None
                groups.setdefault(key, (rubric, []))[1].append((j, i))
        out: list[list[BatchResult | None]] = [[None] * len(job.items) for job in jobs]
        for rubric, places in groups.values():
            records = [jobs[j].items[i][0] for j, i in places]
            for (j, i), result in zip(places, self._grader.grade_many(records, rubric), strict=True):
                out[j][i] = result
        return [[r for r in results if r is not None] for results in out]


def _settle(job: _Job, *, results: list[BatchResult] | None = None, error: BaseException | None = None) -> None:
    """Resolve the job's future once; a future whose request went away is left as it is."""
    if job.future.done():
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(results or [])

