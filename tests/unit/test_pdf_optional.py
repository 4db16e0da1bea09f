"""A gateway without weasyprint (the services' image: requirements.txt only) answers the PDF routes
501 with a Chinese message, and still serves the HTML documents."""

from __future__ import annotations

import sys

import pytest
from fastapi.testclient import TestClient

from gateway import deps
from gateway.app import app
from gateway.auth import Staff

CASE = "/api/v1/complaints/5b0c7f0e-8d52-4b7e-9a3a-2f1f3c9d6e10/mediation/documents"
DOCUMENT = "<html><body><h1>调解协议书</h1></body></html>"


class Mediation:
    async def call(self, service: str, method: str, *args, **kwargs) -> str:
        assert (service, method) == ("mediation", "document")
        return DOCUMENT


@pytest.fixture
def gateway_without_weasyprint(monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` raises ImportError
    app.dependency_overrides[deps.current_staff] = lambda: Staff("330681", "330681", frozenset({"case_officer"}))
    app.dependency_overrides[deps.rpc] = Mediation
    yield TestClient(app)
    app.dependency_overrides.clear()


@pytest.mark.parametrize("path", ["agreement.pdf", "judicial-application.pdf", "minutes/1.pdf"])
def test_pdf_routes_answer_501_in_chinese(gateway_without_weasyprint, path):
    response = gateway_without_weasyprint.get(f"{CASE}/{path}")
    assert response.status_code == 501
    assert response.json()["error"] == "pdf_not_installed"
    assert "未安装 PDF" in response.json()["message"] and ".html" in response.json()["message"]


def test_the_html_documents_are_served_without_it(gateway_without_weasyprint):
    response = gateway_without_weasyprint.get(f"{CASE}/agreement.html")
    assert response.status_code == 200 and "调解协议书" in response.text
