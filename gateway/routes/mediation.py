"""Mediation: the case from consent to agreement or failure, follow-up, call-back and documents
(docs/mediation.md). Every action answers the case as the caller sees it; an action the case's
state does not allow is a 409 with the reason; only the responsible unit's mediators and
supervisors act (403), cases outside the caller's scope answer 404."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.contracts import DIVISION_CODE
from common.contracts import mediation as inputs
from common.contracts.answers.mediation import CourtCase, MediationCase, MediationSummary, Mediator
from common.contracts.answers.routing import Court
from common.tenancy import Role
from gateway.deps import Rpc, Staff
from gateway.errors import problem
from gateway.models import User

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["mediation"])

CASE = "/complaints/{complaint_id}/mediation"
N = Annotated[int, Path(ge=1, le=1000)]
# every action answers the case as the caller sees it now
CASE_ANSWER: dict[str, Any] = {"response_model": MediationCase, "response_model_exclude_unset": True}
PDF = {
    200: {
        "description": "the document as PDF",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def _act(client: Any, staff: Any, complaint_id: str, action: str, body: Any = None, n: int | None = None) -> Any:
    payload = body.model_dump(mode="json") if body is not None else {}
    return await client.call("mediation", "act", complaint_id, action, payload, n=n, context=staff.scope.to_context())


@router.get("/mediations", response_model=list[MediationSummary], response_model_exclude_unset=True)
async def list_mediations(
    staff: Staff,
    client: Rpc,
    state: inputs.CaseState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Mediation cases in the caller's scope, most recently changed first; personal data masked."""
    return await client.call("mediation", "list_cases", state=state, limit=limit, context=staff.scope.to_context())


@router.get(CASE, **CASE_ANSWER)
async def get_mediation(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """The case: state, parties, consent, mediator, clocks (deadline, remaining, colour), sessions,
    agreement and terms, recusals, re-reviews, call-backs, allowed actions, history."""
    return await client.call("mediation", "get_case", complaint_id, context=staff.scope.to_context())


# --- actions -------------------------------------------------------------------------------------
# Every action has the same shape: POST a body to `{CASE}{path}`, which calls the mediation service's
# `act` RPC and answers the case. `name` is the endpoint's name (its OpenAPI summary and operation id),
# `action` the service's (defaults to `name`); an `optional` body may be left out, its model's defaults
# apply; a path with `{n}` names a session or a term (1-1000); `doc` is the OpenAPI description.


@dataclass(frozen=True)
class _Action:
    name: str
    path: str
    body: type[BaseModel]
    doc: str
    action: str = ""
    optional: bool = False


ACTIONS: tuple[_Action, ...] = (
    _Action("consent", "/consent", inputs.ConsentInput,
            "The business's consent or refusal (Art 18); refusal ends mediation with the remedy routes."),
    _Action("assign", "/assign", inputs.AssignInput,
            "Assign (or reassign) a mediator of the unit: the one named, else by category skill and load.",
            optional=True),
    _Action("request_recusal", "/recuse", inputs.RecusalRequest,
            "回避: a party (or the mediator itself) asks the mediator to step aside."),
    _Action("decide_recusal", "/recuse/decision", inputs.RecusalDecision,
            "The supervisor's decision on the pending recusal request; granted: another mediator takes over."),
    _Action("schedule_session", "/sessions", inputs.SessionInput,
            "Schedule a session: joint or with one party (单方调解), in person (place) or by phone/video."),
    _Action("record_minutes", "/sessions/{n}/minutes", inputs.MinutesInput,
            "The minutes (调解笔录) of session n."),
    _Action("confirm_minutes", "/sessions/{n}/minutes/confirm", inputs.PartyInput,
            "A party confirms (signs) the minutes of session n, whether or not they agreed."),
    _Action("draft_agreement", "/agreement", inputs.AgreementInput,
            "Draft (or revise) the agreement (调解协议) with its terms; confirmations start over."),
    _Action("confirm_agreement", "/agreement/confirm", inputs.PartyInput,
            "A party confirms the agreement; when both have, mediation ends with the agreement."),
    _Action("fail", "/fail", inputs.ReasonInput,
            "The first round failed: a second session follows."),
    _Action("terminate", "/terminate", inputs.TerminateInput,
            "The second round failed too: mediation ends with the remedy routes."),
    _Action("withdraw", "/withdraw", inputs.ReasonInput,
            "The complainant withdraws: mediation ends."),
    _Action("start_appraisal", "/appraisal/start", inputs.AppraisalInput,
            "Testing or appraisal starts: the 60-day clock pauses (Art 22).", optional=True),
    _Action("end_appraisal", "/appraisal/end", inputs.AppraisalInput,
            "Testing or appraisal ended: the clock runs again with its deadline moved by the pause.", optional=True),
    _Action("term_performed", "/terms/{n}/performed", inputs.PerformedInput,
            "Term n was performed; the money recovered (挽回经济损失) defaults to the term's amount.",
            action="perform_term", optional=True),
    _Action("term_breached", "/terms/{n}/breached", inputs.NoteInput,
            "Term n was breached: the case may then be reopened or escalated.", action="breach_term", optional=True),
    _Action("reopen", "/reopen", inputs.ReasonInput,
            "Mediate again: after a breach, or on a re-review that does not uphold the result."),
    _Action("escalate", "/escalate", inputs.ReasonInput,
            "After a breach: end with `mediation.ended.v1` escalate=true, so routing passes the case up."),
    _Action("request_re_review", "/re-review", inputs.ReReviewInput,
            "复议 on a party's request: a mediator who has not held the case reviews it."),
    _Action("uphold_re_review", "/re-review/uphold", inputs.NoteInput,
            "The re-review upholds the result (a supervisor): the case returns to where it was.",
            action="uphold", optional=True),
    _Action("callback", "/callback", inputs.CallbackInput,
            "回访: satisfaction on a 5-point scale, with comments."),
    _Action("end_notice", "/end-notice", inputs.EndNoticeInput,
            "The parties were told that mediation ended (Art 23: within 7 working days).",
            action="notify_end", optional=True),
)  # fmt: skip


def _action_endpoint(spec: _Action) -> Callable[..., Awaitable[Any]]:
    """The endpoint of one action. FastAPI reads its parameters from `__signature__`, built here
    because the body's model (and whether the path has `n`) differs from one action to the next."""

    async def endpoint(complaint_id: str, staff: Any, client: Any, body: Any = None, n: int | None = None) -> Any:
        payload = body if body is not None else spec.body()
        return await _act(client, staff, complaint_id, spec.action or spec.name, payload, n)

    def param(name: str, annotation: Any, **default: Any) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, **default)

    params = [param("complaint_id", str)]
    if "{n}" in spec.path:
        params.append(param("n", N))
    if spec.optional:
        params.append(param("body", Annotated[spec.body | None, Body()], default=None))
    else:
        params.append(param("body", spec.body))
    params += [param("staff", Staff), param("client", Rpc)]
    endpoint.__signature__ = inspect.Signature(params, return_annotation=Any)  # type: ignore[attr-defined]
    endpoint.__name__ = endpoint.__qualname__ = spec.name
    endpoint.__doc__ = spec.doc
    return endpoint


for _spec in ACTIONS:
    router.add_api_route(
        f"{CASE}{_spec.path}", _action_endpoint(_spec), methods=["POST"], name=_spec.name, **CASE_ANSWER
    )


# --- judicial confirmation (诉调对接, People's Mediation Law Art 33) ------------------------------


async def _city_courts(client: Any, staff: Any, complaint_id: str) -> list[dict[str, Any]]:
    case = await client.call("mediation", "get_case", complaint_id, context=staff.scope.to_context())
    return await client.call("routing", "courts", case["unit"]["code"], context=staff.scope.to_context())


@router.get(f"{CASE}/judicial-confirmation/courts", response_model=list[Court], response_model_exclude_unset=True)
async def judicial_courts(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """The courts onboarded in the case's city, to which its agreement may go for judicial confirmation."""
    return await _city_courts(client, staff, complaint_id)


@router.post(f"{CASE}/judicial-confirmation", **CASE_ANSWER)
async def apply_judicial_confirmation(
    complaint_id: str, body: inputs.JudicialApplicationInput, staff: Staff, client: Rpc
) -> Any:
    """申请司法确认: within 30 days of the agreement taking effect, the parties' joint application goes
    to a court onboarded in the case's city (422 naming `court` otherwise): the application document
    is rendered, the step journalled, and the court told by its docking webhook, queue and inbox."""
    court = next((c for c in await _city_courts(client, staff, complaint_id) if c["code"] == body.court), None)
    if court is None:
        message = f"{body.court} 不是本案所在市已入驻的人民法院"
        return problem(422, "invalid_input", f"court: {message}", [{"field": "court", "message": message}])
    record = inputs.JudicialApplicationRecord(court=body.court, court_name=court["name"], note=body.note)
    return await _act(client, staff, complaint_id, "apply_judicial_confirmation", record)


@router.post(f"{CASE}/judicial-confirmation/decision", response_model=CourtCase, response_model_exclude_unset=True)
async def record_judicial_decision(
    complaint_id: str, body: inputs.JudicialDecisionInput, staff: Staff, client: Rpc
) -> Any:
    """The court's answer (its system with its API key, or its staff signed in): confirmed, or refused
    with the reason, and the ruling number. Only the court applied to answers (403 for others, 404
    for a case not applied to it); 409 when no application awaits an answer."""
    return await client.call(
        "mediation", "judicial_decision", complaint_id, body.model_dump(mode="json"), context=staff.scope.to_context()
    )


@router.get("/judicial-confirmations", response_model=list[CourtCase], response_model_exclude_unset=True)
async def judicial_applications(staff: Staff, client: Rpc, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    """A court's applications for judicial confirmation, newest first (403 for anyone but a court)."""
    return await client.call("mediation", "judicial_applications", limit=limit, context=staff.scope.to_context())


# --- documents ------------------------------------------------------------------------------------


async def _document(client: Any, staff: Any, complaint_id: str, kind: str, n: int | None = None) -> str:
    return await client.call("mediation", "document", complaint_id, kind, n=n, context=staff.scope.to_context())


# weasyprint is the gateway image's optional extra (requirements-pdf.txt, Pango and a CJK font): a
# gateway without it serves the same documents as HTML, which the browser prints
PDF_NOT_INSTALLED = "本服务器未安装 PDF 生成组件，请打开同名的 .html 文书，用浏览器打印或另存为 PDF。"


class PdfNotInstalled(RuntimeError):
    """weasyprint, or the system libraries it loads, are not installed here."""


def _pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML  # imported on first use: it loads Pango
    except (ImportError, OSError) as exc:  # the library or its system libraries are missing
        raise PdfNotInstalled(str(exc)) from None
    return HTML(string=html).write_pdf()


async def _pdf_document(client: Any, staff: Any, complaint_id: str, kind: str, n: int | None = None) -> Response:
    html = await _document(client, staff, complaint_id, kind, n)
    try:
        pdf = await run_in_threadpool(_pdf, html)
    except PdfNotInstalled as exc:
        log.warning("PDF asked for, but this gateway cannot render it: %s", exc)
        return problem(501, "pdf_not_installed", PDF_NOT_INSTALLED)
    return Response(pdf, media_type="application/pdf")


@router.get(f"{CASE}/documents/agreement.html", response_class=HTMLResponse)
async def agreement_html(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    return HTMLResponse(await _document(client, staff, complaint_id, "agreement"))


@router.get(f"{CASE}/documents/agreement.pdf", response_class=Response, responses=PDF)
async def agreement_pdf(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    return await _pdf_document(client, staff, complaint_id, "agreement")


@router.get(f"{CASE}/documents/termination.html", response_class=HTMLResponse)
async def termination_html(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """终止调解告知书: a mediation ended without an agreement, with the remedy routes (409 otherwise)."""
    return HTMLResponse(await _document(client, staff, complaint_id, "termination"))


@router.get(f"{CASE}/documents/judicial-application.html", response_class=HTMLResponse)
async def judicial_application_html(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    """司法确认申请书: the responsible unit's staff, or the court it was sent to (parties in full)."""
    return HTMLResponse(await _document(client, staff, complaint_id, "judicial_application"))


@router.get(f"{CASE}/documents/judicial-application.pdf", response_class=Response, responses=PDF)
async def judicial_application_pdf(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    return await _pdf_document(client, staff, complaint_id, "judicial_application")


@router.get(f"{CASE}/documents/minutes/{{n}}.html", response_class=HTMLResponse)
async def minutes_html(complaint_id: str, n: N, staff: Staff, client: Rpc) -> Any:
    return HTMLResponse(await _document(client, staff, complaint_id, "minutes", n))


@router.get(f"{CASE}/documents/minutes/{{n}}.pdf", response_class=Response, responses=PDF)
async def minutes_pdf(complaint_id: str, n: N, staff: Staff, client: Rpc) -> Any:
    return await _pdf_document(client, staff, complaint_id, "minutes", n)


# --- the roster -----------------------------------------------------------------------------------


@router.get("/mediators", response_model=list[Mediator], response_model_exclude_unset=True)
async def list_mediators(
    staff: Staff,
    client: Rpc,
    unit: Annotated[str | None, Query(pattern=DIVISION_CODE, description="a unit's division code")] = None,
) -> Any:
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


@router.put("/mediators/{username}", response_model=Mediator, response_model_exclude_unset=True)
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
