"""The AI step of the OS stages without the stack: off unless asked for with a JSON true, template text
with ``ai_generated: false`` when no model is configured or none answers, and a deadline that always
leaves the edge time to answer."""

from datetime import UTC, datetime, timedelta

import pytest

from leadstream.salesos.outreach import outreach_item
from leadstream.schemas.os import OSRun
from leadstream.scoring.os_scores import score_entity
from leadstream.settings import Settings
from leadstream.streams.os_ai import OSAssistant, asked
from tests.llm_stub import stub_llm

NOW = datetime(2025, 12, 13, tzinfo=UTC)
LEAD = {"id": "l-1", "name": "Ahmed Al Mansouri", "company": "Acme"}


def run(endpoint: str = "/api/os/score", stages: tuple[str, ...] = ("score",), age_s: float = 0.0) -> OSRun:
    return OSRun(
        run_id="r",
        tenant_id="acme",
        request_id="q",
        endpoint=endpoint,
        stages=list(stages),
        planned=list(stages),
        request={},
        started_at=datetime.now(UTC) - timedelta(seconds=age_s),
    )


@pytest.mark.parametrize(
    ("options", "on"),
    [
        ({"ai_outreach": True}, True),
        ({"ai_outreach": "true"}, False),
        ({"ai_outreach": 1}, False),
        ({}, False),
        (None, False),
        ([], False),
    ],
)
def test_only_json_true_asks(options: object, on: bool) -> None:
    assert asked(options, "ai_outreach") is on


LONG = Settings(llm_timeout_s=30)


@pytest.mark.parametrize(
    ("settings", "endpoint", "stages", "age_s", "deadline"),
    [
        (Settings(), "/api/os/score", ("score",), 0, 3.0),
        (LONG, "/api/os/outreach", ("outreach",), 0, 3.0),  # 60% of the 5 s reply timeout
        (LONG, "/api/os/outreach", ("outreach",), 2.5, 0.5),  # less what the run already took
        (LONG, "/api/os/score", ("score",), 4, 0.0),  # nothing left: the model is not asked
        (LONG, "/api/os/pipeline", ("score", "rank", "outreach"), 0, 3.0),  # 60% of 10 s for two AI stages
        (LONG, "/api/os/pipeline", ("score", "rank"), 0, 6.0),  # discovery_to_score: one AI stage
        (LONG, "/api/os/pipeline", ("outreach",), 4, 2.0),  # the last stage gets what is left
        (Settings(llm_timeout_s=0.5), "/api/os/pipeline", ("score", "rank", "outreach"), 0, 0.5),
    ],
)
def test_deadline_leaves_the_edge_time(
    settings: Settings, endpoint: str, stages: tuple[str, ...], age_s: float, deadline: float
) -> None:
    assert OSAssistant(settings).deadline(run(endpoint, stages, age_s)) == pytest.approx(deadline, abs=0.05)


async def test_no_time_left_keeps_the_templates_without_asking() -> None:
    with stub_llm() as stub:
        assistant = OSAssistant(Settings(llm_base_url=stub.base_url))
        scored = [score_entity({"name": "Acme"}, [], None, NOW)]
        await assistant.explain(run(age_s=10), {"ai_explanation": True}, scored, [({"name": "Acme"}, [])])
        assert scored[0]["ai_generated"] is False and stub.take() == []


async def test_not_configured_keeps_the_templates() -> None:
    assistant = OSAssistant(Settings(llm_base_url=""))
    assert not assistant.configured
    data = score_entity({"name": "Acme"}, [], None, NOW)
    scored = [data]
    await assistant.explain(run(), {"ai_explanation": True}, scored, [({"name": "Acme"}, [])])
    assert scored[0]["ai_generated"] is False and scored[0]["explanations"] == data["explanations"]
    item = outreach_item(LEAD, generated_at=NOW)
    items = [item]
    await assistant.write_outreach(run("/api/os/outreach"), {"ai_outreach": True}, items, [LEAD], "default", None)
    assert items == [item]


async def test_not_asked_leaves_everything_as_it_was() -> None:
    with stub_llm() as stub:
        assistant = OSAssistant(Settings(llm_base_url=stub.base_url))
        data = score_entity({"name": "Acme"}, [], None, NOW)
        scored = [data]
        await assistant.explain(run(), {"ai_explanation": False}, scored, [({"name": "Acme"}, [])])
        assert scored == [data] and "ai_generated" not in data and stub.take() == []


async def test_no_server_listening_keeps_the_templates() -> None:
    with stub_llm() as gone:
        url = gone.base_url
    assistant = OSAssistant(Settings(llm_base_url=url, llm_timeout_s=1))
    item = outreach_item(LEAD, generated_at=NOW)
    items = [item]
    await assistant.write_outreach(run("/api/os/outreach"), {"ai_outreach": True}, items, [LEAD], "default", None)
    assert items == [item] and item["ai_generated"] is False


async def test_many_leads_are_batched_and_capped() -> None:
    # 55 different first names (a name with a digit in it is a placeholder, never greeted as a person)
    names = [f"{a}{b}" for a in ("Amal", "Badr", "Dana", "Faris", "Hala", "Jana") for b in "aeiouynrsl"]
    leads = [{"id": f"l-{n}", "name": f"{names[n]} Khan", "company": "Acme"} for n in range(55)]
    with stub_llm() as stub:
        assistant = OSAssistant(Settings(llm_base_url=stub.base_url, llm_timeout_s=5))
        items = [outreach_item(lead, generated_at=NOW) for lead in leads]
        await assistant.write_outreach(run("/api/os/outreach"), {"ai_outreach": True}, items, leads, "default", None)
        requests = stub.take()
    assert len(requests) == 5  # batches of 10, at most 50 leads per run
    assert [i["ai_generated"] for i in items] == [True] * 50 + [False] * 5
    assert items[49]["message"]["subject"] == f"AI note for {names[49]}"
