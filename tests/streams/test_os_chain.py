"""An OS stage as a processor, without Kafka: a batch of run records in, an ``Outcome`` out (the
next stage's records, the finished runs with their answers, dead letters, the edge replies)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from leadstream.observability.logs import PARTITION, RUN_ID
from leadstream.schemas.os import OSRun
from leadstream.settings import Settings
from leadstream.storage.warehouse import QueryResult
from leadstream.streams.os_chain import OSStage, OSStages

SETTINGS = Settings(topic_prefix="t.")
ENTITY = {"name": "Gulf Payroll", "domain": "gulfpayroll.ae", "industry": "banking", "location": "Dubai"}


class NoRows:
    """A tenant with nothing in the warehouse."""

    async def read(self, sql: str, params: dict[str, Any]) -> QueryResult:
        return QueryResult(["company_id", "data"], [])


class Replies:
    def __init__(self) -> None:
        self.posted: list[tuple[str, dict[str, Any]]] = []

    async def post(self, answers: Sequence[tuple[str, dict[str, Any]]]) -> None:
        self.posted.extend(answers)


def record(value: bytes, offset: int, partition: int = 0) -> ConsumerRecord:
    topic = SETTINGS.topics.os_stage("score")
    return ConsumerRecord(topic, partition, offset, 0, 0, b"k", value, None, 1, len(value), ())


def run_record(run_id: str, endpoint: str, stages: list[str], request: dict[str, Any], offset: int) -> ConsumerRecord:
    run = OSRun(
        run_id=run_id,
        tenant_id="acme",
        request_id=f"q-{run_id}",
        endpoint=endpoint,
        stages=stages,
        request=request,
        results={"enrich": []},
        context={"region": "UAE", "profile": "default"},
        started_at=datetime.now(UTC),
    )
    return record(run.model_dump_json().encode(), offset)


def score_stage(replies: Replies | None = None) -> OSStage:
    return OSStage("score", OSStages(SETTINGS, NoRows()), SETTINGS, replies or Replies())  # type: ignore[arg-type]


async def test_a_batch_is_forwarded_finished_answered_and_dead_lettered() -> None:
    replies = Replies()
    stage = score_stage(replies)
    poison = record(b'{"run_id": 7}', 3)
    batch = [
        run_record("r-next", "/api/os/pipeline", ["score", "rank"], {"config": {}}, 0),
        run_record("r-done", "/api/os/score", ["score"], {"entity_data": ENTITY, "signals": []}, 1),
        run_record("r-404", "/api/os/score", ["score"], {"entity_id": "nope"}, 2),
        poison,
    ]
    outcome = await stage.process(batch)

    [(route, key, value)] = outcome.outputs[SETTINGS.topics.os_stage("rank")]
    forwarded = OSRun.model_validate_json(value)  # type: ignore[arg-type]
    assert route == key == b"r-next" and forwarded.stages == ["rank"] and forwarded.results["score"] == []

    finished = {k: orjson.loads(v) for _, k, v in outcome.outputs[SETTINGS.topics.os_runs]}  # type: ignore[arg-type]
    assert set(finished) == {b"r-done", b"r-404"}
    done = finished[b"r-done"]
    assert done["answer"]["status"] == 200 and done["answer"]["data"] == done["results"]["score"]
    assert done["stages"] == [] and done["finished_at"]
    refused = finished[b"r-404"]["answer"]
    assert refused["status"] == 404 and refused["error_code"] == "OS_SCORE_NOT_FOUND"

    assert outcome.dead == [(poison, "invalid run_id: Input should be a valid string")]

    assert replies.posted == []  # only once the outputs are in Kafka
    for then in outcome.then:
        await then()
    assert {run_id: a for run_id, a in replies.posted} == {b.decode(): f["answer"] for b, f in finished.items()}


async def test_a_failing_stage_answers_500_and_ends_the_run() -> None:
    stage = score_stage()

    async def broken(run: OSRun) -> None:
        raise RuntimeError("bug")

    stage._handler = broken
    outcome = await stage.process([run_record("r-1", "/api/os/pipeline", ["score", "rank"], {}, 0)])
    assert SETTINGS.topics.os_stage("rank") not in outcome.outputs
    [(_, _, value)] = outcome.outputs[SETTINGS.topics.os_runs]
    answer = orjson.loads(value)["answer"]  # type: ignore[arg-type]
    assert answer["status"] == 500 and answer["error_code"] == "OS_STAGE_FAILED" and "bug" in answer["error"]


async def test_a_run_that_cannot_be_answered_fails_alone() -> None:
    stage = score_stage()

    async def no_result(run: OSRun) -> None:
        pass  # a stage that left no result: answer() has nothing to show

    stage._handler = no_result
    outcome = await stage.process([run_record("r-1", "/api/os/score", ["score"], {}, 0)])
    [(_, _, value)] = outcome.outputs[SETTINGS.topics.os_runs]
    assert orjson.loads(value)["answer"]["error_code"] == "OS_STAGE_FAILED"  # type: ignore[arg-type]


async def test_a_batchs_runs_are_done_concurrently_each_with_its_own_log_context() -> None:
    stage = score_stage()
    started: list[str] = []
    seen: dict[str, tuple[str | None, int | None]] = {}
    all_in = asyncio.Event()

    async def waits_for_the_others(run: OSRun) -> None:
        started.append(run.run_id)
        if len(started) == 3:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), 2)  # one run at a time would time out here
        seen[run.run_id] = (RUN_ID.get(), PARTITION.get())
        run.results["score"] = {}

    stage._handler = waits_for_the_others
    batch = [run_record(f"r-{i}", "/api/os/score", ["score"], {}, i) for i in range(3)]
    for i, r in enumerate(batch):
        batch[i] = record(r.value, r.offset, partition=i)
    outcome = await stage.process(batch)
    assert seen == {f"r-{i}": (f"r-{i}", i) for i in range(3)}
    assert len(outcome.outputs[SETTINGS.topics.os_runs]) == 3
