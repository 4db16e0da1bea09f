"""Every error the gateway answers is JSON a person can act on: what is wrong, and where."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.errors import HTTP_STATUS
from gateway.admission import Overloaded
from gateway.rpc import RemoteError, ServiceUnavailable
from services.notification.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER

log = logging.getLogger("gateway")

# what a signed callback (an SMS provider's delivery reports) must send: an HMAC-SHA256 signature of
# timestamp + "." + body, in the headers named
SIGNATURE_CHALLENGE = f'HMAC-SHA256 realm="disputes", headers="{TIMESTAMP_HEADER} {SIGNATURE_HEADER}"'
# every 503 and 429 says when to come back (RFC 9110 10.2.3); callers that know better set their own
RETRY_AFTER_SECONDS = 5
RETRY_STATUSES = (429, 503)


def problem(status: int, error: str, message: str, fields: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict = {"error": error, "message": message}
    if fields is not None:
        body["fields"] = fields
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status in RETRY_STATUSES else None
    return JSONResponse(body, status_code=status, headers=headers)


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = []
        for error in exc.errors():
            field, message = _field_name(tuple(error["loc"])), error["msg"]
            if error["type"] == "json_invalid":  # its loc is the byte offset, no field
                field, message = "body", "the body is not valid JSON"
            elif error["type"] == "extra_forbidden":
                message = "unknown field; remove it"
            fields.append({"field": field, "message": message})
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return problem(422, "invalid_input", summary, fields)

    @app.exception_handler(RemoteError)
    async def remote_error(request: Request, exc: RemoteError) -> JSONResponse:
        status = HTTP_STATUS.get(exc.exc_type)
        if status is None:
            log.error("service error on %s %s: %s", request.method, request.url.path, exc)
            return problem(500, "internal_error", "an unexpected error occurred; it has been logged")
        if exc.exc_type == "InvalidInput":
            fields = json.loads(exc.value)
            summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
            return problem(status, "invalid_input", summary, fields)
        response = problem(status, exc.exc_type.lower(), exc.value)
        if exc.exc_type == "Unauthorized":  # only callers that sign their requests get one (RFC 9110 11.6.1)
            response.headers["WWW-Authenticate"] = SIGNATURE_CHALLENGE
        return response

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
        return problem(503, "service_unavailable", f"{exc}; try again shortly")

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded) -> JSONResponse:
        response = problem(503, "overloaded", f"{exc}; nothing was filed, try again in {exc.retry_after} seconds")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(DBAPIError)
    async def database_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
        # the gateway's own database (accounts, tokens, keys) is away, e.g. restarting: say so, as
        # for a service that is down; any other database error is a fault to log
        if not (exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)):
            raise exc
        log.warning("gateway database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem(503, "service_unavailable", "the account database is unavailable; try again shortly")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, "http_error", str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
