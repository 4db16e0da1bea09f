"""How the gateway gathers a case's clocks from the services that run them (gateway/routes/clocks.py),
and what it answers when one of them is away: pure, with a stand-in for the RPC client."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gateway.routes.clocks import case_with_clocks
from gateway.rpc import RemoteError, ServiceUnavailable

CID = "6f1c0e0a-1111-4c1e-9d7a-0123456789ab"


def clock(kind: str, **extra: Any) -> dict[str, Any]:
    return {"complaint_id": CID, "tracking_no": None, "kind": kind, "colour": "green", **extra}


class Services:
    """Answers each (service, method) from `answers`; an exception there is raised."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    async def call(self, service: str, method: str, *args: Any, context: Any = None, **kwargs: Any) -> Any:
        answer = self.answers[f"{service}.{method}"]
        if isinstance(answer, BaseException):
            raise answer
        return answer() if callable(answer) else answer


def intake_case() -> dict[str, Any]:
    return {"id": CID, "clocks": [{"kind": "acceptance", "colour": "green", "status": "met"}]}


def gather(answers: dict[str, Any]) -> dict[str, Any]:
    # in a thread of its own: the browser tests' Playwright keeps an event loop running in this one
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(case_with_clocks(Services(answers), {}, CID))).result()


def test_every_service_adds_its_clocks_without_repeating_the_case() -> None:
    case = gather(
        {
            "intake.get_complaint": intake_case,
            "routing.case_clocks": [clock("tier_target", unit={"code": "321282109200"})],
            "mediation.case_clocks": [clock("mediation", handler="mediator-1")],
        }
    )
    assert [c["kind"] for c in case["clocks"]] == ["acceptance", "tier_target", "mediation"]
    assert all("complaint_id" not in c and "tracking_no" not in c for c in case["clocks"])
    assert case["clocks"][2]["handler"] == "mediator-1"
    assert "clocks_unavailable" not in case


def test_a_service_away_leaves_the_case_readable_and_says_whose_clocks_are_missing() -> None:
    case = gather(
        {
            "intake.get_complaint": intake_case,
            "routing.case_clocks": [clock("tier_target")],
            "mediation.case_clocks": ServiceUnavailable("service 'mediation' did not answer in time"),
        }
    )
    assert [c["kind"] for c in case["clocks"]] == ["acceptance", "tier_target"]
    assert case["clocks_unavailable"] == ["mediation"]


def test_the_case_itself_decides_the_answer() -> None:
    with pytest.raises(RemoteError) as absent:
        gather(
            {
                "intake.get_complaint": RemoteError("NotFound", f"no complaint {CID}"),
                "routing.case_clocks": [],
                "mediation.case_clocks": [],
            }
        )
    assert absent.value.exc_type == "NotFound"
    with pytest.raises(ServiceUnavailable):
        gather(
            {
                "intake.get_complaint": ServiceUnavailable("service 'intake' is not running"),
                "routing.case_clocks": [],
                "mediation.case_clocks": [],
            }
        )


def test_a_fault_in_another_service_is_not_hidden() -> None:
    with pytest.raises(RemoteError) as fault:
        gather(
            {
                "intake.get_complaint": intake_case,
                "routing.case_clocks": RemoteError("KeyError", "'unit'"),
                "mediation.case_clocks": [],
            }
        )
    assert fault.value.exc_type == "KeyError"
