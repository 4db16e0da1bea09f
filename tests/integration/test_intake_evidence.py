"""Evidence files: uploaded with multipart by staff in scope, typed by content, size-limited,
checksummed, kept outside the database, served only to staff handling the case (audited)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.integration.test_intake_channels import (
    EXE,
    OTHER_CITY,
    PDF,
    PNG,
    SIBLING_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    file_routed,
    role_headers,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def user_headers(api, db):
    return lambda tenant, role: role_headers(api, db, tenant, role)


ROOT = Path(__file__).resolve().parent.parent.parent


def upload(api, headers, complaint_id: str, *files: tuple[str, bytes]):
    return api.post(
        f"/api/v1/complaints/{complaint_id}/evidence",
        files=[("files", (name, content, "application/octet-stream")) for name, content in files],
        headers=headers,
    )


@pytest.fixture(scope="module")
def routed_case(api, login):
    return file_routed(api, login)


def test_upload_then_download_the_same_bytes(api, login, db, routed_case):
    response = upload(api, login(VILLAGE), routed_case["id"], ("收据.png", PNG), ("合同.pdf", PDF))
    assert response.status_code == 201, response.text
    png, pdf = response.json()
    assert (png["mime_type"], pdf["mime_type"]) == ("image/png", "application/pdf")
    assert png["sha256"] == hashlib.sha256(PNG).hexdigest() and png["size"] == len(PNG)
    assert png["filename"] == "收据.png"

    download = api.get(f"/api/v1/complaints/{routed_case['id']}/evidence/{png['id']}", headers=login(VILLAGE))
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"] == f'attachment; filename="{png["id"]}.png"'

    # the bytes live in the evidence store, the database keeps the record only
    with db.connect() as conn:
        key = conn.scalar(text("SELECT storage_key FROM intake.evidence WHERE id = :id"), {"id": png["id"]})
        binary = conn.scalar(
            text(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'intake' "
                "AND table_name = 'evidence' AND data_type = 'bytea'"
            )
        )
    assert binary == 0
    assert (ROOT / "var" / "evidence" / key).read_bytes() == PNG

    listed = api.get(f"/api/v1/complaints/{routed_case['id']}", headers=login(VILLAGE)).json()["evidence"]
    assert {e["id"] for e in listed} >= {png["id"], pdf["id"]}


def test_the_type_is_judged_by_content_not_by_name(api, login, routed_case):
    renamed = upload(api, login(VILLAGE), routed_case["id"], ("photo.png", EXE))
    assert renamed.status_code == 422
    [problem] = renamed.json()["fields"]
    assert problem["field"] == "files[0]" and "Windows program" in problem["message"]
    honest = upload(api, login(VILLAGE), routed_case["id"], ("notes.txt", PNG))
    assert honest.status_code == 201 and honest.json()[0]["mime_type"] == "image/png"


def test_one_bad_file_refuses_the_whole_upload_naming_it(api, login, db, routed_case):
    with db.connect() as conn:
        before = conn.scalar(
            text("SELECT count(*) FROM intake.evidence WHERE complaint_id = :id"), {"id": routed_case["id"]}
        )
    response = upload(api, login(VILLAGE), routed_case["id"], ("ok.pdf", PDF), ("bad.svg", b"<svg onload=alert(1)>"))
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["files[1]"]
    with db.connect() as conn:
        after = conn.scalar(
            text("SELECT count(*) FROM intake.evidence WHERE complaint_id = :id"), {"id": routed_case["id"]}
        )
    assert after == before


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "empty"), (PNG + b"\x00" * (10 * 1024 * 1024), "larger than")],
    ids=["empty", "over 10 MiB"],
)
def test_size_limits(api, login, routed_case, content, words):
    response = upload(api, login(VILLAGE), routed_case["id"], ("big.png", content))
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "files[0]"
    assert words in response.json()["fields"][0]["message"]


def test_an_upload_needs_files(api, login, routed_case):
    response = api.post(f"/api/v1/complaints/{routed_case['id']}/evidence", headers=login(VILLAGE))
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "files"


@pytest.fixture(scope="module")
def stored(api, login, routed_case) -> str:
    response = upload(api, login(VILLAGE), routed_case["id"], ("scan.pdf", PDF))
    assert response.status_code == 201
    return response.json()[0]["id"]


@pytest.mark.parametrize("unit", [SIBLING_VILLAGE, OTHER_CITY])
def test_out_of_scope_staff_get_404_both_ways(api, login, routed_case, stored, unit):
    path = f"/api/v1/complaints/{routed_case['id']}/evidence"
    assert api.get(f"{path}/{stored}", headers=login(unit)).status_code == 404
    assert upload(api, login(unit), routed_case["id"], ("x.pdf", PDF)).status_code == 404


def test_staff_in_scope_with_a_case_role_get_it_others_403(api, login, user_headers, routed_case, stored):
    path = f"/api/v1/complaints/{routed_case['id']}/evidence/{stored}"
    assert api.get(path, headers=login(TOWNSHIP)).status_code == 200
    assert api.get(path, headers=user_headers(VILLAGE, "mediator")).status_code == 200
    assert api.get(path, headers=user_headers(VILLAGE, "tenant_admin")).status_code == 403
    assert api.get(path).status_code == 401


def test_unknown_or_foreign_file_ids_are_404(api, login, routed_case, stored):
    other = file_routed(api, login)
    assert api.get(f"/api/v1/complaints/{other['id']}/evidence/{stored}", headers=login(VILLAGE)).status_code == 404
    path = f"/api/v1/complaints/{routed_case['id']}/evidence"
    assert api.get(f"{path}/00000000-0000-0000-0000-000000000000", headers=login(VILLAGE)).status_code == 404
    assert api.get(f"{path}/nonsense", headers=login(VILLAGE)).status_code == 404


def test_every_download_is_audited(api, login, db, routed_case, stored):
    api.get(f"/api/v1/complaints/{routed_case['id']}/evidence/{stored}", headers=login(VILLAGE))
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT username, fields FROM intake.personal_data_access "
                "WHERE complaint_id = :id AND endpoint = 'intake.evidence_file'"
            ),
            {"id": routed_case["id"]},
        ).all()
    assert (VILLAGE, ["evidence"]) in [(r.username, list(r.fields)) for r in rows]
