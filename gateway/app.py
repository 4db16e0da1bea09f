"""The front door: authentication, tenant scope, the public API."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from common.config import settings
from common.contracts import ComplaintSubmission
from common.db import make_engine
from gateway import auth, errors
from gateway.errors import problem
from gateway.limits import BodySizeLimit
from gateway.rpc import RpcClient, ServiceUnavailable

SERVICES = ("intake", "routing", "mediation", "notification", "reporting")
HEALTH_TIMEOUT_SECONDS = 3.0


@asynccontextmanager
async def lifespan(app: FastAPI):
    config = settings()
    app.state.config = config
    app.state.engine = make_engine(config.database_url, pool_size=5)
    app.state.sessions = sessionmaker(app.state.engine)
    app.state.rpc = RpcClient(config.amqp_uri, timeout=config.rpc_timeout_seconds)
    await app.state.rpc.start()
    yield
    await app.state.rpc.close()
    app.state.engine.dispose()


app = FastAPI(
    title="Consumer disputes platform",
    version="0.1.0",
    description="Complaints and mediation across city, township and village (消费纠纷调处).",
    lifespan=lifespan,
)
app.add_middleware(BodySizeLimit, max_bytes=settings().max_body_bytes)
errors.install(app)

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    tenant: str
    roles: list[str]


class Receipt(BaseModel):
    id: str
    tracking_no: str
    status: str


def rpc(request: Request) -> RpcClient:
    return request.app.state.rpc


def current_staff(request: Request, token: Annotated[str, Depends(oauth2)]) -> auth.Staff:
    try:
        return auth.read_token(token, request.app.state.config.jwt_secret)
    except auth.InvalidToken as exc:
        raise HTTPException(
            401, "the token is missing, invalid or expired; log in again", headers={"WWW-Authenticate": "Bearer"}
        ) from exc


Staff = Annotated[auth.Staff, Depends(current_staff)]
Rpc = Annotated[RpcClient, Depends(rpc)]


@app.post("/api/v1/auth/token", response_model=Token, tags=["auth"])
async def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Any:
    def check() -> auth.Staff:
        with Session(request.app.state.engine) as session:
            return auth.authenticate(session, form.username, form.password)

    try:
        staff = await run_in_threadpool(check)
    except auth.InvalidCredentials:
        return problem(401, "invalid_credentials", "wrong username or password")
    config = request.app.state.config
    return Token(
        access_token=auth.issue_token(staff, config.jwt_secret, config.token_ttl_seconds),
        expires_in=config.token_ttl_seconds,
        tenant=staff.tenant,
        roles=sorted(staff.roles),
    )


@app.post("/api/v1/complaints", status_code=201, response_model=Receipt, tags=["complaints"])
async def submit_complaint(
    submission: ComplaintSubmission,
    client: Rpc,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> Any:
    """File a complaint (public). Answers 201 only once the complaint is durably stored."""
    return await client.call(
        "intake", "submit", submission.model_dump(mode="json", exclude_none=True), idempotency_key=idempotency_key
    )


@app.get("/api/v1/complaints", tags=["complaints"])
async def list_complaints(
    staff: Staff, client: Rpc, status: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Any:
    return await client.call("intake", "list_complaints", status=status, limit=limit, context=staff.scope.to_context())


@app.get("/api/v1/complaints/{complaint_id}", tags=["complaints"])
async def get_complaint(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    return await client.call("intake", "get_complaint", complaint_id, context=staff.scope.to_context())


@app.get("/api/v1/complaints/{complaint_id}/messages", tags=["complaints"])
async def complaint_messages(complaint_id: str, staff: Staff, client: Rpc) -> Any:
    # the case lookup applies the scope: out of scope answers 404 before any message is read
    complaint = await client.call("intake", "get_complaint", complaint_id, context=staff.scope.to_context())
    return await client.call("notification", "messages_for", complaint["id"], context=staff.scope.to_context())


@app.get("/api/v1/reports/summary", tags=["reports"])
async def report_summary(staff: Staff, client: Rpc) -> Any:
    return await client.call("reporting", "summary", context=staff.scope.to_context())


@app.get("/healthz", tags=["ops"])
async def healthz(client: Rpc) -> JSONResponse:
    """200 only when every service answers its ping (and reaches its database)."""

    async def ping(service: str) -> str:
        try:
            answer = await client.call(service, "ping", timeout=HEALTH_TIMEOUT_SECONDS)
        except ServiceUnavailable as exc:
            return str(exc)
        return "ok" if answer.get("database") else "database unreachable"

    states = dict(zip(SERVICES, await asyncio.gather(*(ping(s) for s in SERVICES)), strict=True))
    healthy = all(state == "ok" for state in states.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "services": states}, status_code=200 if healthy else 503
    )
