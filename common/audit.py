"""The personal-data audit log's shared parts: each service that shows a complainant's data in full
records the read in its own `personal_data_access` table, and answers its tenant admins with these
rows (the gateway merges them: `GET /api/v1/audit/personal-data`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from common.errors import InvalidInput

MAX_ROWS = 1000


def parse_instant(value: str | None, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput.one(field, "not an ISO 8601 date or date-time (e.g. 2026-11-01T00:00:00+08:00)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def access_row(row: Any) -> dict[str, Any]:
    """One read as the API shows it (`row`: a service's PersonalDataAccess)."""
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "username": row.username,
        "tenant": row.tenant,
        "complaint_id": str(row.complaint_id),
        "fields": list(row.fields),
        "endpoint": row.endpoint,
    }
