"""Every answer of the gateway is typed in its OpenAPI document: a JSON answer names its model (the
contracts' answers, common/contracts/answers/), a file or a page names its media type. An untyped
answer is how a service change that breaks the console used to reach the browser unnoticed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

# what a schema may carry without saying anything about the shape of the answer
SHAPELESS = {"title", "description"}


def untyped_answers(spec: dict[str, Any]) -> list[str]:
    """`METHOD path status media type` of every 2xx answer without a shape."""
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2") or status == "204":
                    continue
                content = response.get("content") or {"(no content)": {}}
                for media_type, media in content.items():
                    if not set(media.get("schema") or {}) - SHAPELESS:
                        found.append(f"{method.upper()} {path} {status} {media_type}")
    return found


def test_every_answer_of_the_gateway_is_typed() -> None:
    from gateway.app import app

    assert untyped_answers(app.openapi()) == []


def test_an_untyped_answer_is_caught() -> None:
    app = FastAPI()
    router = APIRouter()

    @router.get("/typed")
    async def typed() -> dict[str, int]:
        return {}

    @router.get("/any")
    async def anything() -> Any:
        return {}

    @router.get("/file")
    async def file() -> None:
        return None

    app.include_router(router)
    assert untyped_answers(app.openapi()) == ["GET /any 200 application/json", "GET /file 200 application/json"]
