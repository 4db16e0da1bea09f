"""Evidence files: stored outside the database, checksummed, size-limited, typed by content.

`EvidenceStore` is the storage interface (a filesystem implementation here; an S3-compatible one
can take its place: keys are opaque `<complaint id>/<file id><extension>` strings). The database
keeps only the record (`intake.evidence`): name as uploaded (display only), type judged from the
bytes (`validation.evidence_file`), size, sha256 and the storage key. Reads verify the checksum.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from common.config import IntakeSettings
from common.db import UnitOfWork
from common.errors import InvalidInput
from services.intake import validation
from services.intake.models import Evidence, HistoryEntry

ROOT = Path(__file__).resolve().parent.parent.parent
MAX_FILES_PER_CASE = 50
MAX_FILENAME_LEN = 200


class EvidenceStore(Protocol):
    def put(self, key: str, content: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class CorruptEvidence(RuntimeError):
    """The stored bytes no longer match the recorded checksum."""


class FilesystemStore:
    """Files under a root directory (`EVIDENCE_DIR`, default `var/evidence`), written atomically."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root or IntakeSettings().evidence_dir or ROOT / "var" / "evidence")

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"evidence key {key!r} leaves the store")
        return path

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def display_name(filename: str | None) -> str:
    shown = "".join(c for c in (filename or "") if c.isprintable()).strip()
    return (shown or "unnamed")[:MAX_FILENAME_LEN]


def store(
    session: Session,
    store: EvidenceStore,
    complaint_id: uuid.UUID,
    filename: str,
    content: bytes,
    *,
    kind: validation.EvidenceKind,
    source: str,
    uploaded_by: str | None,
    now: datetime,
) -> Evidence:
    """Write the bytes, then add the record to the session (the caller commits; on failure it
    should `store.delete(row.storage_key)`)."""
    file_id = uuid.uuid4()
    key = f"{complaint_id}/{file_id}{kind.extension}"
    store.put(key, content)
    row = Evidence(
        id=file_id,
        complaint_id=complaint_id,
        filename=display_name(filename),
        mime_type=kind.mime_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_key=key,
        source=source,
        uploaded_by=uploaded_by,
        uploaded_at=now,
    )
    session.add(row)
    return row


def read(store: EvidenceStore, row: Evidence) -> bytes:
    content = store.get(row.storage_key)
    if hashlib.sha256(content).hexdigest() != row.sha256:
        raise CorruptEvidence(f"evidence {row.id} does not match its checksum")
    return content


def view(row: Evidence) -> dict:
    return {
        "id": str(row.id),
        "filename": row.filename,
        "mime_type": row.mime_type,
        "size": row.size,
        "sha256": row.sha256,
        "source": row.source,
        "uploaded_at": row.uploaded_at.isoformat(),
    }


# --- files added to a case ----------------------------------------------------------------------------


def decode(content: Any, field: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise InvalidInput.one(field, "not base64 content") from None


PUBLIC_FILES = 10  # files the complainant adds from the portal's filing
PUBLIC_TYPES_ZH = "只能上传图片（JPG、PNG、GIF、WebP）或 PDF 文件"


def _public_message(message: str) -> str:
    """The complainant's upload problem in Chinese (staff read validation's English)."""
    if "is empty" in message:
        return "文件是空的"
    if "bytes (10 MiB)" in message:
        return "单个文件不能超过 10 MB"
    return PUBLIC_TYPES_ZH


def add_files(
    db: UnitOfWork,
    files_store: EvidenceStore,
    key: uuid.UUID,
    existing: int,
    files: Any,
    *,
    by: str,
    source: str,
    public: bool = False,
) -> list[dict[str, Any]]:
    """Check and store uploaded files (each {"filename", "content": base64}) as evidence of the
    case, with a history step; none stored when one is refused. `public`: the complainant's own."""
    if not isinstance(files, list) or not files:
        raise InvalidInput.one("files", "at least one file (multipart field 'files')")
    if existing + len(files) > MAX_FILES_PER_CASE:
        raise InvalidInput.one("files", f"a case holds at most {MAX_FILES_PER_CASE} evidence files")
    checked, problems = [], []
    for index, item in enumerate(files):
        field = f"files[{index}]"
        name = str(item.get("filename") or "") if isinstance(item, dict) else ""
        try:
            content = decode(item.get("content") if isinstance(item, dict) else None, field)
            kind = validation.evidence_file(name, content, field=field)
            if public and kind.media not in ("image", "document"):
                raise validation.InvalidField(field, PUBLIC_TYPES_ZH)
            checked.append((name, content, kind))
        except validation.InvalidField as exc:
            problems.append({"field": exc.field, "message": _public_message(exc.message) if public else exc.message})
        except InvalidInput as exc:
            problems += exc.fields
    if problems:
        raise InvalidInput(problems)
    stored: list[Evidence] = []
    try:
        with db.transaction() as session:
            now = datetime.now(UTC)
            for name, content, kind in checked:
                stored.append(
                    store(
                        session,
                        files_store,
                        key,
                        name,
                        content,
                        kind=kind,
                        source=source,
                        uploaded_by=by,
                        now=now,
                    )
                )
            session.add(
                HistoryEntry(
                    complaint_id=key,
                    at=now,
                    step="evidence_added",
                    detail={"files": [row.filename for row in stored], "by": by},
                )
            )
    except BaseException:
        for row in stored:
            files_store.delete(row.storage_key)
        raise
    return [view(row) for row in stored]
