"""The service's batcher alone: requests labelled together beside the event loop, each answered whole and in order."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

pytest.importorskip("fastapi")

from classifier import load_model
from classifier.records import Document, FailedDocument
from classifier.service.batcher import Labeller

from .conftest import corpus_pages


class CountingModel:
    """Labels instantly, remembering the chunks it was given."""

    def __init__(self, real, delay: float = 0.0) -> None:
        self.real, self.delay, self.chunks = real, delay, []

    def label_chunk(self, chunk):
        self.chunks.append([d.id for d in chunk])
        time.sleep(self.delay)
        return self.real.label_chunk(chunk)


def documents(prefix: str, count: int) -> list[Document]:
    return [Document(id=f"{prefix}{i}", text=f"Line {i} of a page.\nAnother line.") for i in range(count)]


def run(coroutine):
    return asyncio.run(coroutine)


def test_requests_that_arrive_together_are_labelled_together():
    model = CountingModel(load_model(), delay=0.05)

    async def scenario():
        labeller = Labeller(model, batch_size=64, gather=0.001)
        labeller.start()
        first = asyncio.create_task(labeller.records(documents("a", 1)))
        await asyncio.sleep(0.01)  # the first batch is being labelled; these wait for the next
        rest = [asyncio.create_task(labeller.records(documents(f"r{n}-", 1))) for n in range(6)]
        results = await asyncio.gather(first, *rest)
        await labeller.stop()
        return results

    results = run(scenario())
    assert model.chunks == [["a0"], [f"r{n}-0" for n in range(6)]]
    assert [json.loads(r.lines)["id"] for r in results] == ["a0"] + [f"r{n}-0" for n in range(6)]


def test_a_large_request_takes_turns_with_small_ones_and_comes_back_whole_in_order():
    model = CountingModel(load_model(), delay=0.02)

    async def scenario():
        labeller = Labeller(model, batch_size=4, gather=0.0)
        labeller.start()
        big = asyncio.create_task(labeller.records(documents("b", 10), segments=False))
        await asyncio.sleep(0.005)
        small = asyncio.create_task(labeller.records(documents("s", 1)))
        results = await asyncio.gather(big, small)
        await labeller.stop()
        return results

    big, small = run(scenario())
    # The large request had its next piece queued before the small one came; then they share a batch.
    assert model.chunks == [["b0", "b1", "b2", "b3"], ["b4", "b5", "b6", "b7"], ["s0", "b8", "b9"]]
    lines = [json.loads(line) for line in big.lines.splitlines()]
    assert [r["id"] for r in lines] == [f"b{i}" for i in range(10)]
    assert all("segments" not in r for r in lines) and big.documents == 10
    assert json.loads(small.lines)["segments"]


def test_records_do_not_depend_on_the_batch_a_document_was_labelled_in():
    model = load_model()
    pages = [Document(id=d["id"], text=d["text"]) for d in corpus_pages(12)]

    async def scenario(batch_size: int):
        labeller = Labeller(model, batch_size=batch_size, gather=0.0)
        labeller.start()
        results = await asyncio.gather(*(labeller.records([page]) for page in pages))
        await labeller.stop()
        return [r.lines for r in results]

    from classifier.run.tasks import records_of_chunk

    alone = [records_of_chunk(model, [page], True, None).lines for page in pages]
    assert run(scenario(64)) == alone
    assert run(scenario(3)) == alone


def test_a_failing_batch_fails_its_requests_only():
    real = load_model()

    class FailsOnce:
        model_id = "x@1"
        failed = False

        def label_chunk(self, chunk):
            if not self.failed:
                self.failed = True
                raise RuntimeError("once")
            return real.label_chunk(chunk)

    async def scenario():
        labeller = Labeller(FailsOnce(), gather=0.0)
        labeller.start()
        with pytest.raises(RuntimeError):
            await labeller.records(documents("f", 2))
        after = await labeller.records(documents("g", 1))
        await labeller.stop()
        return after

    assert json.loads(run(scenario()).lines)["id"] == "g0"


def test_a_request_whose_records_fail_fails_alone_in_a_shared_batch():
    model = CountingModel(load_model(), delay=0.05)

    def refuse(document):
        raise RuntimeError("a selector that fails")

    async def scenario():
        labeller = Labeller(model, gather=0.0)
        labeller.start()
        first = asyncio.create_task(labeller.records(documents("a", 1)))
        await asyncio.sleep(0.01)
        poisoned = asyncio.create_task(labeller.records(documents("p", 1), select=refuse))
        victim = asyncio.create_task(labeller.records(documents("v", 1)))
        results = await asyncio.gather(first, poisoned, victim, return_exceptions=True)
        await labeller.stop()
        return results

    _first, poisoned, victim = run(scenario())
    assert model.chunks == [["a0"], ["p0", "v0"]]  # labelled together
    assert isinstance(poisoned, RuntimeError)
    assert json.loads(victim.lines)["id"] == "v0"


def test_a_model_that_raises_stopiteration_fails_its_request_only_and_labelling_goes_on():
    real = load_model()

    class Stops:
        def label_chunk(self, chunk):
            time.sleep(0.03)
            if any(d.id.startswith("p") for d in chunk):
                raise StopIteration  # a future refuses it as an exception: it must not stop the labeller
            return real.label_chunk(chunk)

    async def scenario():
        labeller = Labeller(Stops(), gather=0.0)
        labeller.start()
        first = asyncio.create_task(labeller.records(documents("a", 1)))
        await asyncio.sleep(0.01)
        bad = asyncio.create_task(labeller.records(documents("p", 1)))
        good = asyncio.create_task(labeller.records(documents("v", 1)))
        results = await asyncio.wait_for(asyncio.gather(first, bad, good, return_exceptions=True), 10)
        healthy = labeller.healthy
        await labeller.stop()
        return results, healthy

    (_first, bad, good), healthy = run(scenario())
    assert isinstance(bad, RuntimeError) and "StopIteration" in str(bad)
    assert json.loads(good.lines)["id"] == "v0" and healthy


def test_requests_in_a_batch_when_labelling_stops_get_an_error_not_a_hang():
    model = CountingModel(load_model(), delay=0.2)

    async def scenario():
        labeller = Labeller(model, gather=0.0)
        labeller.start()
        in_flight = asyncio.create_task(labeller.records(documents("f", 1)))
        waiting = asyncio.create_task(labeller.records(documents("w", 1)))
        await asyncio.sleep(0.05)
        labeller._runner.cancel()  # as a fault of ours would end it, mid-batch
        results = await asyncio.wait_for(asyncio.gather(in_flight, waiting, return_exceptions=True), 5)
        await labeller.stop()
        return results

    assert [type(r) for r in run(scenario())] == [RuntimeError, RuntimeError]


def test_a_request_after_a_quiet_spell_is_labelled_at_once():
    model = CountingModel(load_model())

    async def scenario():
        labeller = Labeller(model, gather=0.5)
        labeller.start()
        await asyncio.gather(*(labeller.records(documents(f"t{n}-", 1)) for n in range(3)))  # answered together
        await asyncio.sleep(0.6)  # they do not come back
        started = time.monotonic()
        await labeller.records(documents("lone", 1))
        took = time.monotonic() - started
        await labeller.stop()
        return took

    assert run(scenario()) < 0.4  # not held for the 0.5 s a returning client would be waited for


def test_a_large_request_whose_handler_is_cancelled_is_not_labelled_to_the_end():
    from classifier.service.routes import _unless_client_leaves

    model = CountingModel(load_model(), delay=0.05)

    class StillThere:
        async def is_disconnected(self):
            return False

    async def scenario():
        labeller = Labeller(model, batch_size=2, gather=0.0)
        labeller.start()
        handler = asyncio.create_task(
            _unless_client_leaves(StillThere(), labeller.records(documents("b", 40)), watch=True)
        )
        await asyncio.sleep(0.2)
        handler.cancel()
        await asyncio.sleep(0.5)
        await labeller.stop()

    run(scenario())
    assert len(model.chunks) < 10  # of the 20 batches the whole request would take


def test_a_client_that_does_not_read_its_answer_holds_its_labelling_back():
    from classifier.service.batcher import UNSENT_PARTS

    model = CountingModel(load_model())

    async def scenario():
        labeller = Labeller(model, batch_size=2, gather=0.0)
        labeller.start()
        answer = labeller.stream(documents("s", 40))
        parts = [await answer.__anext__()]  # then reads nothing for a while
        await asyncio.sleep(0.5)
        labelled_while_unread = len(model.chunks)
        counts = labeller.waiting, labeller.held  # held back, not waiting: no labelling is owed to it now
        other = await labeller.records(documents("o", 3))  # another request goes on meanwhile
        parts += [part async for part in answer]  # reads the rest
        await labeller.stop()
        return labelled_while_unread, counts, other, parts

    labelled_while_unread, counts, other, parts = run(scenario())
    assert labelled_while_unread <= 1 + UNSENT_PARTS  # of the 20 batches the request takes
    assert counts == (0, 40 - 2 * labelled_while_unread)
    assert [json.loads(line)["id"] for line in other.lines.splitlines()] == ["o0", "o1", "o2"]
    ids = [json.loads(line)["id"] for part in parts for line in part.lines.splitlines()]
    assert ids == [f"s{i}" for i in range(40)]


def test_empty_requests_need_no_batch():
    model = CountingModel(load_model())

    async def scenario():
        labeller = Labeller(model)
        labeller.start()
        result = await labeller.records([])
        await labeller.stop()
        return result

    assert run(scenario()).lines == b"" and model.chunks == []


def test_failures_in_the_input_pass_through_as_error_records():
    async def scenario():
        labeller = Labeller(load_model())
        labeller.start()
        result = await labeller.records([FailedDocument("bad", "InputError", "unreadable"), *documents("ok", 1)])
        await labeller.stop()
        return result

    result = run(scenario())
    assert result.failed == 1 and result.documents == 2
    assert [json.loads(line).get("error", {}).get("type") for line in result.lines.splitlines()] == ["InputError", None]


def test_a_batch_holds_no_more_segments_than_one_page_at_the_limit_and_answers_come_a_batch_at_a_time():
    from classifier.limits import DocumentLimits

    model = CountingModel(load_model())
    model.limits = DocumentLimits(max_segments=250)
    pages = [Document(id=f"p{i}", text="A line of a page.\n" * 100) for i in range(7)]  # 101 segments at most each

    async def scenario():
        labeller = Labeller(model, batch_size=64, gather=0.0)
        labeller.start()
        parts = [part async for part in labeller.stream(pages, segments=False)]
        await labeller.stop()
        return parts

    parts = run(scenario())
    assert model.chunks == [["p0", "p1"], ["p2", "p3"], ["p4", "p5"], ["p6"]]
    assert [part.documents for part in parts] == [2, 2, 2, 1]
    assert [json.loads(line)["id"] for part in parts for line in part.lines.splitlines()] == [p.id for p in pages]
