"""Mediation: the case from consent to agreement or failure, follow-up, call-back and documents
(docs/mediation.md). Every action answers the case as the caller sees it; an action the case's
state does not allow is a 409 with the reason; only the responsible unit's mediators and
supervisors act (403), cases outside the caller's scope answer 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.tenancy import Role
from gateway.deps import Rpc, Staff
from gateway.models import User
from services.mediation import inputs

router = APIRouter(prefix="/api/v1", tags=["mediation"])

CASE = "/complaints/{complaint_id}/mediation"
N = Annotated[int, Path(ge=1, le=1000)]


async def _act(client: Any, staff: Any, complaint_id: str, action: str, body: Any = None, n: int | None = None) -> Any:
    payload = body.model_dump(mode="json") if body is not None else {}
    return await client.call("mediation", "act", complaint_id, action, payload, n=n, context=staff.scope.to_context())


@router.get("/mediations")
async def list_mediations(
    staff: Staff, client: Rpc, state: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Any:
    """Mediation cases in the caller's scope, most recently changed first; personal data masked."""
    return await client.call("mediation", "list_cases", state=state, limit=limit, context=staff.scope.to_context())


@router.get(CASE)
async def get_mediation(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """The case: state, parties, consent, mediator, clocks (deadline, remaining, colour), sessions,
    agreement and terms, recusals, re-reviews, call-backs, allowed actions, history."""
    return await client.call("mediation", "get_case", complaint_id, context=staff.scope.to_context())


@router.post(f"{CASE}/consent")
async def consent(complaint_id: str, body: inputs.ConsentInput, staff: Staff, client: Rpc) -> Any:
    """The business's consent or refusal (Art 18); refusal ends mediation with the remedy routes."""
    return await _act(client, staff, complaint_id, "consent", body)


@router.post(f"{CASE}/assign")
async def assign(
    complaint_id: str, staff: Staff, client: Rpc, body: Annotated[inputs.AssignInput | None, Body()] = None
) -> Any:
    """Assign (or reassign) a mediator of the unit: the one named, else by category skill and load."""
    return await _act(client, staff, complaint_id, "assign", body or inputs.AssignInput())


@router.post(f"{CASE}/recuse")
async def request_recusal(complaint_id: str, body: inputs.RecusalRequest, staff: Staff, client: Rpc) -> Any:
    """回避: a party (or the mediator itself) asks the mediator to step aside."""
    return await _act(client, staff, complaint_id, "request_recusal", body)


@router.post(f"{CASE}/recuse/decision")
async def decide_recusal(complaint_id: str, body: inputs.RecusalDecision, staff: Staff, client: Rpc) -> Any:
    """The supervisor's decision on the pending recusal request; granted: another mediator takes over."""
    return await _act(client, staff, complaint_id, "decide_recusal", body)


@router.post(f"{CASE}/sessions")
async def schedule_session(complaint_id: str, body: inputs.SessionInput, staff: Staff, client: Rpc) -> Any:
    """Schedule a session: joint or with one party (单方调解), in person (place) or by phone/video."""
    return await _act(client, staff, complaint_id, "schedule_session", body)


@router.post(f"{CASE}/sessions/{{n}}/minutes")
async def record_minutes(complaint_id: str, n: N, body: inputs.MinutesInput, staff: Staff, client: Rpc) -> Any:
    """The minutes (调解笔录) of session n."""
    return await _act(client, staff, complaint_id, "record_minutes", body, n)


@router.post(f"{CASE}/sessions/{{n}}/minutes/confirm")
async def confirm_minutes(complaint_id: str, n: N, body: inputs.PartyInput, staff: Staff, client: Rpc) -> Any:
    """A party confirms (signs) the minutes of session n, whether or not they agreed."""
    return await _act(client, staff, complaint_id, "confirm_minutes", body, n)


@router.post(f"{CASE}/agreement")
async def draft_agreement(complaint_id: str, body: inputs.AgreementInput, staff: Staff, client: Rpc) -> Any:
    """Draft (or revise) the agreement (调解协议) with its terms; confirmations start over."""
    return await _act(client, staff, complaint_id, "draft_agreement", body)


@router.post(f"{CASE}/agreement/confirm")
async def confirm_agreement(complaint_id: str, body: inputs.PartyInput, staff: Staff, client: Rpc) -> Any:
    """A party confirms the agreement; when both have, mediation ends with the agreement."""
    return await _act(client, staff, complaint_id, "confirm_agreement", body)


@router.post(f"{CASE}/fail")
async def fail(complaint_id: str, body: inputs.ReasonInput, staff: Staff, client: Rpc) -> Any:
    """The first round failed: a second session follows."""
    return await _act(client, staff, complaint_id, "fail", body)


@router.post(f"{CASE}/terminate")
async def terminate(complaint_id: str, body: inputs.TerminateInput, staff: Staff, client: Rpc) -> Any:
    """The second round failed too: mediation ends with the remedy routes."""
    return await _act(client, staff, complaint_id, "terminate", body)


@router.post(f"{CASE}/withdraw")
async def withdraw(complaint_id: str, body: inputs.ReasonInput, staff: Staff, client: Rpc) -> Any:
    """The complainant withdraws: mediation ends."""
    return await _act(client, staff, complaint_id, "withdraw", body)


@router.post(f"{CASE}/appraisal/start")
async def start_appraisal(
    complaint_id: str, staff: Staff, client: Rpc, body: Annotated[inputs.AppraisalInput | None, Body()] = None
) -> Any:
    """Testing or appraisal starts: the 60-day clock pauses (Art 22)."""
    return await _act(client, staff, complaint_id, "start_appraisal", body or inputs.AppraisalInput())


@router.post(f"{CASE}/appraisal/end")
async def end_appraisal(
    complaint_id: str, staff: Staff, client: Rpc, body: Annotated[inputs.AppraisalInput | None, Body()] = None
) -> Any:
    """Testing or appraisal ended: the clock runs again with its deadline moved by the pause."""
    return await _act(client, staff, complaint_id, "end_appraisal", body or inputs.AppraisalInput())


@router.post(f"{CASE}/terms/{{n}}/performed")
async def term_performed(
    complaint_id: str, n: N, staff: Staff, client: Rpc, body: Annotated[inputs.PerformedInput | None, Body()] = None
) -> Any:
    """Term n was performed; the money recovered (挽回经济损失) defaults to the term's amount."""
    return await _act(client, staff, complaint_id, "perform_term", body or inputs.PerformedInput(), n)


@router.post(f"{CASE}/terms/{{n}}/breached")
async def term_breached(
    complaint_id: str, n: N, staff: Staff, client: Rpc, body: Annotated[inputs.NoteInput | None, Body()] = None
) -> Any:
    """Term n was breached: the case may then be reopened or escalated."""
    return await _act(client, staff, complaint_id, "breach_term", body or inputs.NoteInput(), n)


@router.post(f"{CASE}/reopen")
async def reopen(complaint_id: str, body: inputs.ReasonInput, staff: Staff, client: Rpc) -> Any:
    """Mediate again: after a breach, or on a re-review that does not uphold the result."""
    return await _act(client, staff, complaint_id, "reopen", body)


@router.post(f"{CASE}/escalate")
async def escalate(complaint_id: str, body: inputs.ReasonInput, staff: Staff, client: Rpc) -> Any:
    """After a breach: end with `mediation.ended.v1` escalate=true, so routing passes the case up."""
    return await _act(client, staff, complaint_id, "escalate", body)


@router.post(f"{CASE}/re-review")
async def request_re_review(complaint_id: str, body: inputs.ReReviewInput, staff: Staff, client: Rpc) -> Any:
    """复议 on a party's request: a mediator who has not held the case reviews it."""
    return await _act(client, staff, complaint_id, "request_re_review", body)


@router.post(f"{CASE}/re-review/uphold")
async def uphold_re_review(
    complaint_id: str, staff: Staff, client: Rpc, body: Annotated[inputs.NoteInput | None, Body()] = None
) -> Any:
    """The re-review upholds the result (a supervisor): the case returns to where it was."""
    return await _act(client, staff, complaint_id, "uphold", body or inputs.NoteInput())


@router.post(f"{CASE}/callback")
async def callback(complaint_id: str, body: inputs.CallbackInput, staff: Staff, client: Rpc) -> Any:
    """回访: satisfaction on a 5-point scale, with comments."""
    return await _act(client, staff, complaint_id, "callback", body)


@router.post(f"{CASE}/end-notice")
async def end_notice(
    complaint_id: str, staff: Staff, client: Rpc, body: Annotated[inputs.EndNoticeInput | None, Body()] = None
) -> Any:
    """The parties were told that mediation ended (Art 23: within 7 working days)."""
    return await _act(client, staff, complaint_id, "notify_end", body or inputs.EndNoticeInput())


# --- documents ------------------------------------------------------------------------------------


async def _document(client: Any, staff: Any, complaint_id: str, kind: str, n: int | None = None) -> str:
    return await client.call("mediation", "document", complaint_id, kind, n=n, context=staff.scope.to_context())


def _pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML  # imported on first use: it loads Pango
    except (ImportError, OSError) as exc:  # the library or its system libraries are missing
        raise HTTPException(503, f"PDF rendering is not available here ({exc}); use the .html document") from None
    return HTML(string=html).write_pdf()


@router.get(f"{CASE}/documents/agreement.html", response_class=HTMLResponse)
async def agreement_html(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    return HTMLResponse(await _document(client, staff, complaint_id, "agreement"))


@router.get(f"{CASE}/documents/agreement.pdf", response_class=Response)
async def agreement_pdf(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    pdf = await run_in_threadpool(_pdf, await _document(client, staff, complaint_id, "agreement"))
    return Response(pdf, media_type="application/pdf")


@router.get(f"{CASE}/documents/minutes/{{n}}.html", response_class=HTMLResponse)
async def minutes_html(complaint_id: str, n: N, staff: Staff, client: Rpc) -> Any:
    return HTMLResponse(await _document(client, staff, complaint_id, "minutes", n))


@router.get(f"{CASE}/documents/minutes/{{n}}.pdf", response_class=Response)
async def minutes_pdf(complaint_id: str, n: N, staff: Staff, client: Rpc) -> Any:
    pdf = await run_in_threadpool(_pdf, await _document(client, staff, complaint_id, "minutes", n))
    return Response(pdf, media_type="application/pdf")


# --- the roster -----------------------------------------------------------------------------------


@router.get("/mediators")
async def list_mediators(staff: Staff, client: Rpc, unit: str | None = None) -> Any:
    """The mediators' roster of the caller's subtree, with each one's open cases."""
    return await client.call("mediation", "mediators", unit=unit, context=staff.scope.to_context())


def _mediator_problem(engine: Any, username: str, unit: str) -> str | None:
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.username == username))
    if user is None or user.disabled:
        return f"{username} is not an active staff account"
    if user.tenant_code != unit or Role.MEDIATOR not in (user.roles or []):
        return f"{username} does not hold the mediator role in unit {unit}"
    return None


@router.put("/mediators/{username}")
async def put_mediator(username: str, body: inputs.MediatorInput, staff: Staff, client: Rpc, request: Request) -> Any:
    """Add or change a roster entry (a supervisor of the unit): category skills, active or not. The
    username must be an active account holding the mediator role in that unit."""
    username = username.strip().lower()
    if staff.tenant != body.unit or Role.SUPERVISOR not in staff.roles:
        # the service answers 404/403 by the same rule; asked first so no account is probed
        return await client.call(
            "mediation", "put_mediator", username, body.model_dump(mode="json"), context=staff.scope.to_context()
        )
    problem = await run_in_threadpool(_mediator_problem, request.app.state.engine, username, body.unit)
    if problem:
        raise HTTPException(422, problem)
    return await client.call(
        "mediation", "put_mediator", username, body.model_dump(mode="json"), context=staff.scope.to_context()
    )
