"""A stage batch's finished runs go to the runs topic as one record batch: one partition, one
acknowledgement (nothing reads that topic by key); each keeps its own key, and runs going on to another
stage keep theirs as route."""

from __future__ import annotations

import orjson

from leadstream.streams.os_chain import OSStage
from tests.streams.test_os_chain import ENTITY, SETTINGS, run_record, score_stage


async def test_a_batchs_finished_runs_share_one_route_and_keep_their_keys() -> None:
    stage: OSStage = score_stage()
    batch = [
        run_record(f"r-{i}", "/api/os/score", ["score"], {"entity_data": ENTITY, "signals": []}, i) for i in range(5)
    ]
    batch.append(run_record("r-on", "/api/os/pipeline", ["score", "rank"], {"config": {}}, 5))
    outcome = await stage.process(batch)
    finished = outcome.outputs[SETTINGS.topics.os_runs]
    assert {route for route, _, _ in finished} == {b"r-0"}  # the batch's first run picks the partition
    assert [key for _, key, _ in finished] == [f"r-{i}".encode() for i in range(5)]
    assert all(orjson.loads(value)["run_id"] == key.decode() for _, key, value in finished)  # type: ignore[union-attr,arg-type]
    [(route, key, _)] = outcome.outputs[SETTINGS.topics.os_stage("rank")]
    assert route == key == b"r-on"
