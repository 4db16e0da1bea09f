"""The caller's deadline (common/deadlines.py) as the services' unit of work honours it, the gateway's
admission bound and its Retry-After, and the retry rule of intake: pure logic, SQLite for the
rollback, the gateway's error handling on a bare FastAPI app."""

from __future__ import annotations

import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from nameko.events import EventHandler
from nameko.rpc import Rpc
from sqlalchemy import Column, Integer, create_engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import declarative_base, sessionmaker

from common import db, deadlines
from common.db import Database, UnitOfWork
from common.errors import DeadlinePassed
from gateway.admission import Admission, Admitted, Overloaded
from services.intake.duplicates import repeats
from services.intake.models import Complaint

NOW = 1_800_000_000.0


def test_the_deadline_travels_as_context_data_and_reads_back():
    data = deadlines.deadline_context(10, now=NOW)
    assert deadlines.deadline_from_context(data) == NOW + 10


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", ["1"]])
def test_an_absent_or_unreadable_deadline_is_no_deadline(value):
    data = {} if value is None else {deadlines.DEADLINE_CONTEXT: value}
    assert deadlines.deadline_from_context(data) is None
    deadlines.check(deadlines.deadline_from_context(data), now=NOW)  # nothing to refuse


def test_work_is_refused_once_too_little_time_is_left_to_commit_and_answer():
    allowance = deadlines.COMMIT_ALLOWANCE_SECONDS
    deadlines.check(NOW + allowance + 0.01, now=NOW)
    for deadline in (NOW + allowance - 0.01, NOW, NOW - 30):
        with pytest.raises(DeadlinePassed, match="nothing was stored"):
            deadlines.check(deadline, now=NOW)


Rows = declarative_base()


class Row(Rows):
    __tablename__ = "rows"
    id = Column(Integer, primary_key=True)


def unit_of_work(deadline: float | None) -> tuple[UnitOfWork, sessionmaker]:
    engine = create_engine("sqlite://")
    Rows.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    return UnitOfWork(SimpleNamespace(sessions=sessions, read_sessions=None, relay=None), deadline), sessions


def stored(sessions: sessionmaker) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Row))


def test_a_transaction_past_its_deadline_rolls_back_and_stores_nothing():
    uow, sessions = unit_of_work(deadline=time.time() + deadlines.COMMIT_ALLOWANCE_SECONDS / 2)
    with pytest.raises(DeadlinePassed), uow.transaction() as session:
        session.add(Row(id=1))
        session.flush()  # written, but not committed
    assert stored(sessions) == 0


def test_a_transaction_in_time_or_without_a_deadline_commits():
    for deadline in (time.time() + 30, None):
        uow, sessions = unit_of_work(deadline)
        with uow.transaction() as session:
            session.add(Row(id=1))
        assert stored(sessions) == 1


def lost_connection() -> OperationalError:
    return OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


def test_work_is_tried_again_while_the_database_is_away_and_the_deadline_allows(monkeypatch):
    monkeypatch.setattr(db, "RETRY_PAUSE_SECONDS", 0.01)
    attempts = []

    def work() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise lost_connection()
        return "filed"

    uow, _ = unit_of_work(deadline=time.time() + 30)
    assert uow.retrying(work) == "filed" and len(attempts) == 3


@pytest.mark.parametrize("deadline", [None, "too close"])
def test_without_a_deadline_or_time_left_the_databases_error_goes_to_the_caller(deadline):
    attempts = []

    def work() -> None:
        attempts.append(1)
        raise lost_connection()

    left = deadlines.COMMIT_ALLOWANCE_SECONDS + db.RETRY_PAUSE_SECONDS / 2
    uow, _ = unit_of_work(deadline=None if deadline is None else time.time() + left)
    with pytest.raises(OperationalError):
        uow.retrying(work)
    assert len(attempts) == 1


def test_only_rpc_workers_carry_their_callers_deadline():
    database = Database()
    context = deadlines.deadline_context(10, now=NOW)
    rpc_worker = SimpleNamespace(entrypoint=Rpc(), context_data=context)
    event_worker = SimpleNamespace(entrypoint=EventHandler("intake", "complaint.routed.v1"), context_data=context)
    assert database.get_dependency(rpc_worker).deadline == NOW + 10
    assert database.get_dependency(event_worker).deadline is None


def test_admission_refuses_beyond_its_bound_and_frees_a_slot_whatever_the_outcome():
    gate = Admission(2)
    with gate.slot(), gate.slot():
        with pytest.raises(Overloaded) as refused, gate.slot():
            pass
        assert refused.value.retry_after > 0
    with pytest.raises(RuntimeError), gate.slot():
        raise RuntimeError("intake failed")
    assert gate.in_flight == 0
    with gate.slot():
        assert gate.in_flight == 1


def filing(summary: str = "电饭煲三天后无法加热，商家拒绝退货", **overrides) -> Complaint:
    values = {
        "business": {"name": "某某电器商店", "credit_code": "91330681MA2B000017"},
        "summary": summary,
        "claim_amount": Decimal("399.00"),
        "details": {},
        **overrides,
    }
    return Complaint(**values)


@pytest.mark.parametrize(
    ("again", "retry"),
    [
        (filing(), True),
        (filing("电饭煲三天后无法加热, 商家拒绝退货。"), True),  # punctuation aside, the same facts
        (filing(claim_amount=Decimal("1299.00")), False),  # a new fact
        (filing("电饭煲三天后无法加热，商家拒绝退货（订单号 100234）"), False),  # a new figure
        (filing(business={"name": "另一家商店", "credit_code": "91330681MA2B000025"}), False),
        (filing("外卖送来的饭菜里有异物，店家拒绝退款"), False),
    ],
)
def test_a_retry_repeats_the_earlier_filing_as_a_duplicate_would(again, retry):
    assert repeats(again, filing()) is retry


def gateway_with_admission(limit: int):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from gateway import errors

    app = FastAPI()
    errors.install(app)
    app.state.admission = Admission(limit)

    @app.post("/file")
    async def file(_: Admitted) -> dict:
        return {"in_flight": app.state.admission.in_flight}

    return app, TestClient(app)


def test_the_gateway_answers_503_overloaded_with_retry_after_when_the_bound_is_reached():
    app, client = gateway_with_admission(1)
    assert client.post("/file").json() == {"in_flight": 1}
    assert app.state.admission.in_flight == 0  # released once answered
    app.state.admission.in_flight = 1  # another submission is waiting on intake
    refused = client.post("/file")
    assert refused.status_code == 503 and refused.json()["error"] == "overloaded"
    assert int(refused.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("status", "retry_after"), [(503, True), (429, True), (404, False), (422, False)])
def test_every_503_and_429_says_when_to_come_back(status, retry_after):
    from gateway.errors import problem

    assert ("retry-after" in problem(status, "x", "y").headers) is retry_after


@pytest.mark.parametrize(
    "error",
    [
        {"exc_type": "DeadlinePassed", "value": "0.4 s were left"},
        # a service whose nested call was refused
        {"exc_type": "RemoteError", "value": "DeadlinePassed 0.4 s were left"},
    ],
)
def test_a_refusal_for_the_deadline_reaches_the_client_as_a_503(error):
    import asyncio
    import json

    from gateway.rpc import RpcClient, ServiceUnavailable

    async def reply() -> BaseException | None:
        client = RpcClient("amqp://unused")
        future = asyncio.get_running_loop().create_future()
        client._pending["c1"] = future
        await client._on_reply(SimpleNamespace(correlation_id="c1", body=json.dumps({"error": error}).encode()))
        return future.exception()

    assert isinstance(asyncio.run(reply()), ServiceUnavailable)
