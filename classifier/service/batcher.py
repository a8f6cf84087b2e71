"""Labelling beside the event loop: the documents of concurrent requests, labelled together on one thread.

Each uvicorn worker process labels on one thread beside its event loop
(:class:`Labeller`), so that the loop keeps answering while pages are
labelled. The documents of requests that arrive together are labelled
together: a model labels a chunk of pages several times faster per page
than pages one at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..limits import document_cost, limits_of
from ..model.model import Model
from ..records import LabeledDocument
from ..run.ordered import DEFAULT_CHUNK
from ..run.tasks import ChunkRecords, records_of_results
from .options import DEFAULT_GATHER

# Bytes the event loop parses, joins or copies itself (a few ms at most); more go to a thread.
LOOP_BYTES = 2**20
# Parts of a request's answer labelled and not yet taken by its client, beyond which its next piece
# waits: a client that does not read its answer holds its labelling back, not the server's memory.
UNSENT_PARTS = 2

log = logging.getLogger("storyfilter.serve")


@dataclass(eq=False)
class _Request:
    """One request's documents, handed to batches a piece at a time; done when every piece is back.

    The records of each piece wait in ``ready`` until the request's answer
    takes them (``progress`` says when one comes); documents taken into a
    batch are let go of.
    """

    documents: list
    segments: bool
    select: Callable[[LabeledDocument], bool] | None
    done: asyncio.Future
    taken: int = 0
    labelled: int = 0
    ready: deque[ChunkRecords] = field(default_factory=deque)
    progress: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class _Piece:
    job: _Request
    documents: list


def _label_pieces(model: Model, pieces: list[_Piece]) -> list[ChunkRecords | Exception]:
    """Label the pieces' documents as one chunk and turn each piece's share into its records.

    The model turns a document that fails into its error record, and so
    does the writing of records; an exception here is a fault of ours. Then
    each request's piece is tried alone, so that it fails its own request only.
    """
    try:
        results = model.label_chunk([document for piece in pieces for document in piece.documents])
    except Exception as error:  # noqa: BLE001 - answered as a 500 to the request(s) it comes from
        if len(pieces) == 1:
            return [error]
        return [_label_pieces(model, [piece])[0] for piece in pieces]
    outcomes: list[ChunkRecords | Exception] = []
    start = 0
    for piece in pieces:
        end = start + len(piece.documents)
        try:
            outcomes.append(records_of_results(results[start:end], piece.job.segments, piece.job.select))
        except Exception as error:  # noqa: BLE001 - as above
            outcomes.append(error)
        start = end
    return outcomes


def _one_native_thread() -> None:
    """The labelling thread's native libraries (OpenMP, BLAS) run on it alone.

    Worker processes are the parallelism; OpenMP threads of their own would
    fight them and the event loop for the cores (and spin while they wait).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


class Labeller:
    """Labels the documents of concurrent requests together, on one thread beside the event loop.

    A batch is labelled while the requests that arrive meanwhile wait; they
    make up the next batch. Until ``gather`` seconds after a batch's answers
    went out, the clients answered are waited for, so that a batch holds
    every client's page, not only those that happened to be waiting: the
    model's fixed cost per call (a few ms) is then shared. A request that
    comes later than that is labelled at once. Batches hold up to
    ``batch_size`` documents, and no more segments than one page at the
    model's limit (by a cheap bound, :func:`~classifier.limits.document_cost`);
    a request of more is labelled a batch at a time, taking turns with the
    others, so that one large request does not hold up the small ones
    behind it, and its records go out a batch at a time (:meth:`stream`).
    A request whose client has not taken :data:`UNSENT_PARTS` of them
    yet gets no more labelled until it does.
    """

    def __init__(self, model: Model, batch_size: int = DEFAULT_CHUNK, gather: float = DEFAULT_GATHER) -> None:
        self.model = model
        self.batch_size = batch_size
        self.gather = gather
        self.budget = limits_of(model).max_segments or float("inf")
        self._jobs: deque[_Request] = deque()
        self._in_flight: list[_Piece] = []
        self._answered_at = float("-inf")
        self._arrived = asyncio.Event()
        self._thread = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="storyfilter-label", initializer=_one_native_thread
        )
        self._runner: asyncio.Task | None = None

    @property
    def waiting(self) -> int:
        """Documents waiting for a batch (not those held back for a client that does not read: :attr:`held`)."""
        return sum(self._left(job) for job in self._jobs if not job.done.done() and len(job.ready) < UNSENT_PARTS)

    @property
    def held(self) -> int:
        """Documents held back, unlabelled, until their clients read what was labelled for them already."""
        return sum(self._left(job) for job in self._jobs if not job.done.done() and len(job.ready) >= UNSENT_PARTS)

    @staticmethod
    def _left(job: _Request) -> int:
        return len(job.documents) - job.taken

    @property
    def healthy(self) -> bool:
        """Whether batches are being labelled (False once the labelling task has stopped)."""
        return self._runner is not None and not self._runner.done()

    def start(self) -> None:
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="storyfilter-labeller")
        self._runner.add_done_callback(self._stopped)

    def _stopped(self, runner: asyncio.Task) -> None:
        """The labelling task ended (shut-down, or a fault of ours): every request not answered gets an error."""
        if not runner.cancelled() and runner.exception() is not None:
            log.error("the labelling task stopped", exc_info=runner.exception())
        for job in [*self._jobs, *(piece.job for piece in self._in_flight)]:
            if not job.done.done():
                job.done.set_exception(RuntimeError("the labelling task has stopped"))
                job.progress.set()
        self._jobs.clear()

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            try:
                await self._runner
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - a fault was logged when the task ended
                pass
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def records(
        self, documents: list, segments: bool = True, select: Callable[[LabeledDocument], bool] | None = None
    ) -> ChunkRecords:
        """The records of ``documents``, in order, as ``label`` (or with ``select``, ``filter``) writes them."""
        parts = [part async for part in self.stream(documents, segments, select)]
        return await off_the_loop_if_large(sum(len(part.lines) for part in parts), ChunkRecords.joined, parts)

    async def stream(
        self, documents: list, segments: bool = True, select: Callable[[LabeledDocument], bool] | None = None
    ) -> AsyncIterator[ChunkRecords]:
        """The records of ``documents`` a batch's share at a time, in order, as soon as each is labelled.

        Closing it early (the client went away) gives up the documents not
        labelled yet. A failure raises ``RuntimeError`` where it happens.
        """
        if not documents:
            return
        if not self.healthy:
            raise RuntimeError("the labelling task has stopped")
        job = _Request(list(documents), segments, select, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._arrived.set()
        try:
            while True:
                while job.ready:
                    if len(job.ready) >= UNSENT_PARTS:
                        self._arrived.set()  # taking a part lets its next piece be labelled: wake the batches
                    yield job.ready.popleft()
                if job.done.done():
                    job.done.result()  # raises the failure, if any
                    if not job.ready:
                        return
                    continue
                job.progress.clear()
                await job.progress.wait()
        finally:
            if not job.done.done():
                job.done.cancel()  # given up: its documents not taken yet are not labelled
            elif not job.done.cancelled():
                job.done.exception()  # retrieved: a failure already raised is not logged as lost

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        expected = 1  # requests a batch may count on: those answered last time come back, those waiting stay
        while True:
            await self._gathered(expected)
            try:
                self._in_flight = self._next_batch()
                if not self._in_flight:  # every request waits for its client to take its records
                    self._arrived.clear()
                    await self._arrived.wait()
                    continue
                outcomes = await loop.run_in_executor(self._thread, _label_pieces, self.model, self._in_flight)
                answered = set()
                for piece, outcome in zip(self._in_flight, outcomes):
                    self._finish(piece, outcome)
                    if piece.job.done.done():
                        answered.add(piece.job)
                expected = max(1, len(answered) + len(self._jobs))
                self._answered_at = loop.time()
            except Exception as error:
                log.error("labelling a batch failed", exc_info=error)
                for piece in self._in_flight:
                    self._finish(piece, error)
            self._in_flight = []

    async def _gathered(self, expected: int) -> None:
        """Wait for a request; then, until ``gather`` s after the last answers, for ``expected`` or a full batch."""
        while not self._jobs:
            self._arrived.clear()
            await self._arrived.wait()
        deadline = self._answered_at + self.gather
        while len(self._jobs) < expected and self.waiting < self.batch_size:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                return

    def _next_batch(self) -> list[_Piece]:
        """Up to ``batch_size`` documents and ``budget`` segments (one document at least), a piece of each request in turn."""
        pieces: list[_Piece] = []
        held: list[_Request] = []  # their clients have not taken what was labelled for them
        room, budget = self.batch_size, self.budget
        while self._jobs and room > 0:
            job = self._jobs.popleft()
            if job.done.done():  # failed already, or its client went away
                continue
            if len(job.ready) >= UNSENT_PARTS:
                held.append(job)
                continue
            end = job.taken
            while end < len(job.documents) and end - job.taken < room:
                cost = document_cost(job.documents[end])
                if cost > budget and (pieces or end > job.taken):
                    break
                budget -= cost
                end += 1
            if end == job.taken:  # the budget is spent: this request goes first next time
                self._jobs.appendleft(job)
                break
            piece = job.documents[job.taken : end]
            job.documents[job.taken : end] = [None] * len(piece)  # held by the piece alone from now on
            job.taken = end
            room -= len(piece)
            pieces.append(_Piece(job, piece))
            if job.taken < len(job.documents):
                self._jobs.append(job)  # its next piece comes after the others' turn
        self._jobs.extendleft(reversed(held))  # in their turn again once their clients read
        return pieces

    @staticmethod
    def _finish(piece: _Piece, outcome: ChunkRecords | Exception) -> None:
        job = piece.job
        if job.done.done():
            return
        if isinstance(outcome, Exception):
            failure = RuntimeError(
                f"labelling failed: {type(outcome).__name__}: {outcome}"
            )  # (a future refuses StopIteration)
            failure.__cause__ = outcome
            job.done.set_exception(failure)
            job.progress.set()
            return
        job.ready.append(outcome)
        job.labelled += outcome.documents
        if job.labelled == len(job.documents):
            job.done.set_result(None)
        job.progress.set()


async def off_the_loop_if_large(size: int, work: Callable, *args: Any) -> Any:
    """``work(*args)``, in a thread when ``size`` (bytes it handles) is large enough to hold up the loop."""
    if size > LOOP_BYTES:
        return await asyncio.get_running_loop().run_in_executor(None, work, *args)
    return work(*args)
