"""The front door: authentication, tenant scope, the public API."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import sessionmaker

from common.config import GatewaySettings, missing_secrets, refusal
from common.contracts.answers.platform import Health
from common.db import make_engine
from common.telemetry import instrument_app
from gateway import errors, throttle
from gateway.admission import Admission
from gateway.deps import Rpc
from gateway.limits import BodySizeLimit
from gateway.plain_text import PlainText
from gateway.routes import (
    audit,
    auth,
    calendar,
    clocks,
    complaints,
    disclosure,
    mediation,
    notifications,
    portal,
    reports,
    routing,
    settle_first,
    supervision,
    tenants,
    tracking,
    users,
)
from gateway.rpc import RpcClient, ServiceUnavailable

log = logging.getLogger("gateway")

SERVICES = ("intake", "routing", "mediation", "notification", "reporting")
HEALTH_TIMEOUT_SECONDS = 3.0
# the staff web console, built by `make console` from web/console/ (docs/console.md); it also holds
# Swagger UI's files (swagger/), so /docs needs nothing from another site
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "web" / "console" / "dist"
SWAGGER_DIR = "/console/swagger"
# the public portal at /, built by `make portal` from web/portal/ (docs/portal.md): one index.html
# for each of its pages (the page routes by path), its files under /static/
PORTAL_DIR = Path(__file__).resolve().parent.parent / "web" / "portal" / "dist"
PORTAL_PAGES = ("/", "/receipt", "/track", "/business", "/business/", "/disclosure")


@asynccontextmanager
async def lifespan(app: FastAPI):
    missing = missing_secrets()
    if missing:  # tokens signed with a guessable secret could be forged by anyone
        log.critical(refusal(missing))
        raise RuntimeError(refusal(missing))
    config = GatewaySettings()
    app.state.config = config
    app.state.proxies = throttle.trusted_proxies(config.forwarded_allow_ips)
    app.state.engine = make_engine(config.database_url, pool_size=5)
    app.state.sessions = sessionmaker(app.state.engine)
    app.state.rpc = RpcClient(config.amqp_uri, timeout=config.rpc_timeout_seconds)
    app.state.admission = Admission(config.max_submissions_in_flight)
    await app.state.rpc.start()
    yield
    await app.state.rpc.close()
    app.state.engine.dispose()


app = FastAPI(
    title="Consumer disputes platform",
    version="0.1.0",
    description="Complaints and mediation across city, township and village (消费纠纷调处).",
    lifespan=lifespan,
    docs_url=None,  # served below from local files
    redoc_url=None,  # ReDoc would load from a CDN: a government intranet has none
)
app.add_middleware(PlainText, binary_paths=complaints.UPLOAD_PATHS)  # inside BodySizeLimit: reads bodies it let in
body_limits = GatewaySettings()
app.add_middleware(
    BodySizeLimit,
    max_bytes=body_limits.max_body_bytes,
    upload_paths=complaints.UPLOAD_PATHS,
    upload_max_bytes=body_limits.max_upload_bytes,
)
errors.install(app)
instrument_app(app)  # request spans and latency histogram, GET /metrics (common/telemetry.py)
for module in (
    auth,
    complaints,
    clocks,
    calendar,
    tracking,
    reports,
    audit,
    users,
    tenants,
    mediation,
    routing,
    notifications,
    supervision,
    portal,
):
    app.include_router(module.router)
app.include_router(settle_first.router)  # issue 19
app.include_router(disclosure.router)
if CONSOLE_DIR.is_dir():
    app.mount("/console", StaticFiles(directory=CONSOLE_DIR, html=True), name="console")
else:  # the API runs without a built console, and says how to build it

    @app.get("/console/{path:path}", include_in_schema=False)
    async def console_not_built(path: str) -> JSONResponse:
        return errors.problem(503, "console_not_built", "the staff console is not built: run `make console`")


@app.get("/docs", include_in_schema=False)
async def swagger_ui() -> HTMLResponse:
    """The API's interactive documentation, every file from this server."""
    return get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} – API",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_js_url=f"{SWAGGER_DIR}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_DIR}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_DIR}/favicon-32x32.png",
    )


@app.get("/docs/oauth2-redirect", include_in_schema=False)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


async def portal_page() -> Response:
    """A page of the public portal (the consumer's, the business's, the public's)."""
    if not PORTAL_DIR.is_dir():
        return errors.problem(503, "portal_not_built", "the public portal is not built: run `make portal`")
    return FileResponse(PORTAL_DIR / "index.html", headers={"Cache-Control": "no-cache"})


for page in PORTAL_PAGES:
    app.add_api_route(page, portal_page, methods=["GET"], include_in_schema=False)
if PORTAL_DIR.is_dir():
    app.mount("/static", StaticFiles(directory=PORTAL_DIR / "static"), name="portal")


@app.get(
    "/healthz",
    tags=["ops"],
    response_model=Health,
    responses={503: {"model": Health, "description": "a service is not answering"}},
    response_model_exclude_unset=True,
)
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
    body = {"status": "ok" if healthy else "degraded", "services": states}
    headers = None if healthy else {"Retry-After": str(errors.RETRY_AFTER_SECONDS)}
    return JSONResponse(body, status_code=200 if healthy else 503, headers=headers)
