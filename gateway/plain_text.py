"""Refuse control characters in every string a request carries, before any route runs.

A NUL byte cannot be stored by PostgreSQL and other control characters are no part of any name,
number or text a case holds, so the path, the query, a form and every string (and key) of a JSON
body are checked here, once for every route, and a request holding one is a 422 naming the field.
Tab, line feed and carriage return pass: free text may hold them (`common.bounds`). Bodies of the
upload paths (files, raw e-mails) are binary and checked by intake instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import QueryParams
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.bounds import control_character_problem
from gateway.errors import problem

Field = tuple[str, str]  # (field, problem)


def _strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string of a JSON document, keys included, with where it is."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, key
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, str(index)))


def _path_fields(scope: Scope) -> list[Field]:
    found = control_character_problem(scope["path"])
    if not found:
        return []
    # name the path parameter, from the paths of the OpenAPI document (the routes' own templates)
    for template in getattr(scope.get("app"), "openapi", dict)().get("paths", {}):
        match = compile_path(template)[0].match(scope["path"])
        if match:
            named = [(name, p) for name, value in match.groupdict().items() if (p := control_character_problem(value))]
            return named or [("path", found)]
    return [("path", found)]


def _pairs_fields(pairs: list[tuple[str, str]], where: str) -> list[Field]:
    """Fields of a query string or a form; a bad name is named by `where`."""
    found = []
    for key, value in pairs:
        if p := control_character_problem(key):
            found.append((where, p))
        elif p := control_character_problem(value):
            found.append((key, p))
    return found


def _json_fields(body: bytes) -> list[Field]:
    try:
        document = json.loads(body)
    except ValueError:
        return []  # FastAPI answers that the body is not valid JSON
    found = {}
    for path, text in _strings(document):
        if p := control_character_problem(text):
            found.setdefault(".".join(path) or "body", p)
    return list(found.items())


class PlainText:
    def __init__(self, app: ASGIApp, binary_paths: str | None = None) -> None:
        self.app = app
        self.binary_paths = re.compile(binary_paths) if binary_paths else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fields = _path_fields(scope) or _pairs_fields(QueryParams(scope["query_string"]).multi_items(), "query")
        kind = self._body_kind(scope)
        body: bytes | None = None
        if not fields and kind is not None:
            body = await self._read(receive)
            if kind == "form":
                fields = _pairs_fields(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), "body")
            else:
                fields = _json_fields(body)
        if fields:
            listed = [{"field": name, "message": message} for name, message in fields]
            summary = "; ".join(f"{f['field']}: {f['message']}" for f in listed)
            await problem(422, "invalid_input", summary, listed)(scope, receive, send)
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _body_kind(self, scope: Scope) -> str | None:
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return None
        if self.binary_paths is not None and self.binary_paths.fullmatch(scope["path"]):
            return None
        content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type == b"application/x-www-form-urlencoded":
            return "form"
        if not content_type or content_type.endswith(b"json"):
            return "json"
        return None

    @staticmethod
    async def _read(receive: Receive) -> bytes:
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        return b"".join(chunks)
