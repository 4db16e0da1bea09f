"""The intake desk's entrypoints (issue 4), mixed into `IntakeService`: filing by every channel,
e-mail drafts, acceptance decisions, evidence files and public tracking.

Who files what (the caller's scope comes from the context data the gateway sends):

| caller | channel | first receiver |
|---|---|---|
| nobody signed in (public web form) | `web` | none (routing decides) |
| unit staff with `intake_clerk` | `hotline`, `walk_in`; `email` through `receive_email` | the clerk's unit |
| an agency principal (API key or `agency_liaison` token) | `agency` | the unit the agency is attached to |
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import rpc
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from common.categories import CATEGORIES, ConsumerRequest, RefusalGround
from common.contracts import ComplaintSubmission
from common.errors import EXPECTED, Conflict, Forbidden, InvalidInput, NotFound
from common.masking import mask_complainant
from common.tenancy import Role, Scope
from services.intake import audit, case_clocks, case_detail, complaints, decisions, email_intake, tracking, validation
from services.intake import evidence as evidence_files
from services.intake.checks import check_submission
from services.intake.models import Complaint, Evidence

STAFF_CHANNELS = ("hotline", "walk_in")


def _field_errors(exc: ValidationError, prefix: str = "") -> InvalidInput:
    return InvalidInput(
        [
            {"field": prefix + (".".join(map(str, e["loc"])) or "body"), "message": e["msg"]}
            for e in exc.errors(include_input=False)
        ]
    )


def idempotency_scope_key(scope: Scope | None, key: str | None) -> str | None:
    """Keys are per caller: the same key from two callers names two different requests."""
    if not key:
        return None
    owner = f"{scope.tenant}|{scope.user}" if scope is not None else "public"
    return hashlib.sha256(f"{owner}\n{key}".encode()).hexdigest()


def check_channel(channel: str, scope: Scope | None) -> None:
    """Which caller may file through which channel (403 for a wrong role, 422 for a wrong channel)."""
    if channel == "email":
        raise InvalidInput.one(
            "channel", "e-mail complaints come in as the raw message: POST /api/v1/complaints/email (a clerk)"
        )
    if scope is None:
        if channel != "web":
            raise InvalidInput.one(
                "channel",
                f"{channel} complaints are recorded by signed-in staff (hotline, walk_in: an intake clerk; "
                "agency: an agency); the public form files web complaints",
            )
        return
    if scope.is_agency:
        if channel != "agency":
            raise InvalidInput.one("channel", "an agency hands cases over with channel agency")
        if Role.AGENCY_LIAISON not in scope.roles:
            raise Forbidden("handing a case over needs the role agency_liaison (or the agency's API key)")
        return
    if channel not in STAFF_CHANNELS:
        raise InvalidInput.one(
            "channel", "unit staff record hotline or walk_in complaints; the web form is the public one"
        )
    if Role.INTAKE_CLERK not in scope.roles:
        raise Forbidden("recording a complaint needs the role intake_clerk")


def _decode(content: Any, field: str) -> bytes:
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


class IntakeDesk:
    """Entrypoints of issue 4; `db`, `scope` and `_unserved_divisions` come from IntakeService."""

    # --- filing -----------------------------------------------------------------------------

    def _file(self, submission: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        scope = self.scope
        try:
            parsed = ComplaintSubmission.model_validate(submission)
        except ValidationError as exc:
            raise _field_errors(exc) from exc
        check_channel(parsed.channel, scope)
        parsed = check_submission(parsed, self._unserved_divisions)
        key = idempotency_scope_key(scope, idempotency_key)
        first_receiver = scope.home_unit if scope is not None else None
        received_by = scope.user if scope is not None else None
        source_tenant = scope.tenant if scope is not None else None
        try:
            with self.db.transaction() as session:
                if key and (earlier := complaints.by_idempotency_key(session, key)):
                    return complaints.filing_receipt(session, earlier)
                # without a key, the same filing minutes ago by the same caller is taken for a retry
                if not key and (
                    earlier := complaints.repeated_filing(
                        session, parsed, received_by=received_by, source_tenant=source_tenant
                    )
                ):
                    return {**complaints.filing_receipt(session, earlier), "already_filed": True}
                filing = complaints.file_complaint(
                    session,
                    parsed,
                    first_receiver=first_receiver,
                    idempotency_key=key,
                    received_by=received_by,
                    source_tenant=source_tenant,
                )
                for event in filing.events:
                    self.db.emit(session, event)
                return complaints.filing_receipt(session, filing.complaint)
        except IntegrityError:
            if not key:
                raise
            # the same key raced in from a retry: the first one won, answer with it
            with self.db.transaction() as session:
                earlier = complaints.by_idempotency_key(session, key)
                if earlier is None:
                    raise
                return complaints.filing_receipt(session, earlier)

    # --- e-mail -----------------------------------------------------------------------------

    def _require_clerk(self) -> Scope:
        scope = self.scope
        if scope is None or scope.is_agency or Role.INTAKE_CLERK not in scope.roles:
            raise Forbidden("e-mail complaints are taken in by unit staff with the role intake_clerk")
        return scope

    @rpc(expected_exceptions=EXPECTED)
    def receive_email(self, message: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """A raw RFC 5322 message (base64) becomes a draft complaint of the clerk's unit; its
        attachments become evidence when their content is an allowed type."""
        scope = self._require_clerk()
        raw = _decode(message, "message")
        try:
            parsed = email_intake.parse(raw)
        except validation.InvalidField as exc:
            raise InvalidInput.one(exc.field, exc.message) from None
        kinds, refused = [], []
        for index, (name, content) in enumerate(parsed.attachments):
            try:
                kinds.append((name, content, validation.evidence_file(name, content, field=f"attachments[{index}]")))
            except validation.InvalidField as exc:
                refused.append({"field": exc.field, "message": exc.message})
        key = idempotency_scope_key(scope, idempotency_key)
        store = evidence_files.FilesystemStore()
        stored: list[Evidence] = []
        try:
            with self.db.transaction() as session:
                if key and (earlier := complaints.by_idempotency_key(session, key)):
                    return {**complaints.receipt(earlier), "draft": earlier.status == complaints.DRAFT}
                complainant = {"name": parsed.sender_name, "email": parsed.sender_address}
                if parsed.phone:
                    complainant["phone"] = parsed.phone
                draft = complaints.new_draft(
                    session,
                    first_receiver=scope.unit,
                    received_by=scope.user,
                    idempotency_key=key,
                    complainant={k: v for k, v in complainant.items() if v},
                    summary=email_intake.draft_summary(parsed),
                    source={**parsed.source(), "refused_attachments": refused},
                )
                session.flush()
                now = datetime.now(UTC)
                for name, content, kind in kinds:
                    stored.append(
                        evidence_files.store(
                            session,
                            store,
                            draft.id,
                            name,
                            content,
                            kind=kind,
                            source="email",
                            uploaded_by=scope.user,
                            now=now,
                        )
                    )
                answer = {**complaints.receipt(draft), "draft": True}
        except BaseException:
            for row in stored:
                store.delete(row.storage_key)
            raise
        return {
            **answer,
            "prefilled": {"complainant": draft.complainant, "summary": draft.summary},
            "evidence": [evidence_files.view(row) for row in stored],
            "refused_attachments": refused,
        }

    @rpc(expected_exceptions=EXPECTED)
    def complete_draft(self, complaint_id: str, submission: dict[str, Any]) -> dict[str, Any]:
        """A clerk of the receiving unit completes an e-mail draft: checked like any filing, then
        stored, deduplicated and announced."""
        scope = self._require_clerk()
        key = self._complaint_key(complaint_id)
        if not isinstance(submission, dict):
            raise InvalidInput.one("body", "a JSON object with the complaint's fields")
        body = {**submission, "channel": "email"}
        try:
            parsed = ComplaintSubmission.model_validate(body)
        except ValidationError as exc:
            raise _field_errors(exc) from exc
        with self.db.scoped(scope) as session:
            visible = complaints.find_in_scope(session, key, scope)
            if visible is None:
                raise NotFound(f"no complaint {complaint_id}")
            receiving = visible.first_receiver_code
        if receiving != scope.unit:
            raise Forbidden(f"only the receiving unit ({receiving}) completes its e-mail drafts")
        parsed = check_submission(parsed, self._unserved_divisions)
        with self.db.transaction() as session:
            draft = session.get(Complaint, key, with_for_update=True)
            if draft is None or draft.status != complaints.DRAFT:
                raise Conflict("the complaint is no draft (any more): it was completed already")
            filing = complaints.file_complaint(
                session,
                parsed,
                first_receiver=draft.first_receiver_code,
                idempotency_key=draft.idempotency_key,
                received_by=scope.user,
                source_tenant=scope.tenant,
                draft=draft,
            )
            for event in filing.events:
                self.db.emit(session, event)
            return complaints.filing_receipt(session, filing.complaint)

    # --- acceptance decision ------------------------------------------------------------------

    def _decidable(self, complaint_id: str) -> uuid.UUID:
        key = self._complaint_key(complaint_id)
        with self.db.scoped(self.scope) as session:
            complaint = complaints.find_in_scope(session, key, self.scope)
            if complaint is None:
                raise NotFound(f"no complaint {complaint_id}")
            decisions.check_decider(complaint, self.scope)
        return key

    def _decide(self, key: uuid.UUID, act) -> dict[str, Any]:
        with self.db.transaction() as session:
            complaint = session.get(Complaint, key, with_for_update=True)
            if complaint is None:  # pragma: no cover - seen a moment ago; cases are never deleted
                raise NotFound(f"no complaint {key}")
            decisions.check_decider(complaint, self.scope)  # it may have moved meanwhile
            decisions.check_state(complaint)
            event = act(session, complaint, datetime.now(UTC))
            self.db.emit(session, event)
            return {**complaints.receipt(complaint), "decision": complaint.decision}

    @rpc(expected_exceptions=EXPECTED)
    def accept(self, complaint_id: str) -> dict[str, Any]:
        key = self._decidable(complaint_id)
        return self._decide(key, lambda session, c, now: decisions.accept(session, c, self.scope, now))

    @rpc(expected_exceptions=EXPECTED)
    def refuse(self, complaint_id: str, ground: Any = None, reason: Any = None, other_routes: Any = None) -> dict:
        key = self._decidable(complaint_id)
        parsed_ground, text, routes = decisions.parse_refusal(ground, reason, other_routes)
        return self._decide(
            key,
            lambda session, c, now: decisions.refuse(
                session, c, self.scope, now, ground=parsed_ground, reason=text, other_routes=routes
            ),
        )

    # --- evidence -----------------------------------------------------------------------------

    def _evidence_case(self, session, key: uuid.UUID, complaint_id: str) -> Complaint:
        """The case, if the caller may handle its evidence: in scope (404 otherwise), not only a
        read-only view, and a case-handling role (or an agency liaison for a case handed to it)."""
        scope = self.scope
        complaint = complaints.find_in_scope(session, key, scope)
        if complaint is None:
            raise NotFound(f"no complaint {complaint_id}")
        case_detail.check_evidence_handler(complaint, scope)
        return complaint

    @rpc(expected_exceptions=EXPECTED)
    def add_evidence(self, complaint_id: str, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store uploaded files (each {"filename", "content": base64}) as evidence of the case."""
        key = self._complaint_key(complaint_id)
        with self.db.scoped(self.scope) as session:
            complaint = self._evidence_case(session, key, complaint_id)
            existing = len(complaint.evidence)
        return self._store_evidence(key, existing, files, by=self.scope.user, source="upload")

    @rpc(expected_exceptions=EXPECTED)
    def add_public_evidence(self, complaint_id: str, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The complainant's own files from the portal's filing (the gateway checked the filing's
        upload token): images and PDF only, at most PUBLIC_FILES per case (docs/parties.md)."""
        key = self._complaint_key(complaint_id)
        with self.db.read() as session:
            complaint = session.get(Complaint, key)
            if complaint is None:
                raise NotFound(f"no complaint {complaint_id}")
            public = sum(1 for row in complaint.evidence if row.source == "web")
        if isinstance(files, list) and public + len(files) > PUBLIC_FILES:
            raise InvalidInput.one("files", f"网上投诉最多上传 {PUBLIC_FILES} 个文件")
        return self._store_evidence(key, len(complaint.evidence), files, by="complainant", source="web", public=True)

    def _store_evidence(
        self, key: uuid.UUID, existing: int, files: Any, *, by: str, source: str, public: bool = False
    ) -> list[dict[str, Any]]:
        if not isinstance(files, list) or not files:
            raise InvalidInput.one("files", "at least one file (multipart field 'files')")
        if existing + len(files) > evidence_files.MAX_FILES_PER_CASE:
            raise InvalidInput.one("files", f"a case holds at most {evidence_files.MAX_FILES_PER_CASE} evidence files")
        checked, problems = [], []
        for index, item in enumerate(files):
            field = f"files[{index}]"
            name = str(item.get("filename") or "") if isinstance(item, dict) else ""
            try:
                content = _decode(item.get("content") if isinstance(item, dict) else None, field)
                kind = validation.evidence_file(name, content, field=field)
                if public and kind.media not in ("image", "document"):
                    raise validation.InvalidField(field, PUBLIC_TYPES_ZH)
                checked.append((name, content, kind))
            except validation.InvalidField as exc:
                problems.append(
                    {"field": exc.field, "message": _public_message(exc.message) if public else exc.message}
                )
            except InvalidInput as exc:
                problems += exc.fields
        if problems:
            raise InvalidInput(problems)
        store = evidence_files.FilesystemStore()
        stored: list[Evidence] = []
        try:
            with self.db.transaction() as session:
                now = datetime.now(UTC)
                for name, content, kind in checked:
                    stored.append(
                        evidence_files.store(
                            session,
                            store,
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
                    complaints.HistoryEntry(
                        complaint_id=key,
                        at=now,
                        step="evidence_added",
                        detail={"files": [row.filename for row in stored], "by": by},
                    )
                )
        except BaseException:
            for row in stored:
                store.delete(row.storage_key)
            raise
        return [evidence_files.view(row) for row in stored]

    @rpc(expected_exceptions=EXPECTED)
    def evidence_ids(self, complaint_id: str) -> list[str]:
        """The ids of the case's evidence files, for staff who may handle them: no content and no
        personal data, so not audited (the gateway checks a supervision order's attachments)."""
        key = self._complaint_key(complaint_id)
        with self.db.scoped(self.scope) as session:
            return [str(row.id) for row in self._evidence_case(session, key, complaint_id).evidence]

    @rpc(expected_exceptions=EXPECTED)
    def evidence_file(self, complaint_id: str, file_id: str) -> dict[str, Any]:
        """One evidence file's bytes (base64) for staff handling the case; every read is audited."""
        key = self._complaint_key(complaint_id)
        try:
            file_key = uuid.UUID(str(file_id))
        except ValueError:
            raise NotFound(f"no evidence file {file_id}") from None
        with self.db.scoped(self.scope) as session:
            self._evidence_case(session, key, complaint_id)
            row = session.get(Evidence, file_key)
            if row is None or row.complaint_id != key:
                raise NotFound(f"no evidence file {file_id}")
            session.expunge(row)
        content = evidence_files.read(evidence_files.FilesystemStore(), row)
        with self.db.transaction() as session:
            audit.record_access(session, self.scope, key, ["evidence"], endpoint="intake.evidence_file")
        return {
            **evidence_files.view(row),
            "extension": row.storage_key.rsplit(".", 1)[-1],
            "content": base64.b64encode(content).decode(),
        }

    # --- public tracking ----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def track(self, tracking_no: str, phone_tail: str, client: str) -> dict[str, Any]:
        """{"found": view} for a right pair, {"found": None} otherwise (unknown number and wrong
        tail alike), {"retry_after": seconds} when throttled. No scope: the pair is the key."""
        number = tracking.normalize_number(str(tracking_no))
        try:
            attempt = tracking.reserve(self.db.transaction, str(client or "unknown"), number)
        except tracking.Throttled as exc:
            return {"retry_after": exc.retry_after}
        with self.db.read() as session:
            complaint = tracking.find(session, number)
            if not tracking.matches(complaint, str(phone_tail or "")):
                return {"found": None}
            view = tracking.public_view(session, complaint)
        tracking.succeeded(self.db.transaction, attempt)
        return {"found": view}

    @rpc(expected_exceptions=EXPECTED)
    def party_case(self, complaint_id: str) -> dict[str, Any]:
        """The public tracking view for a party the gateway signed in by SMS code (docs/parties.md),
        with the business, the complainant masked and intake's clocks (the acceptance deadline)."""
        with self.db.read() as session:
            complaint = session.get(Complaint, self._complaint_key(complaint_id))
            if complaint is None:
                raise NotFound(f"no complaint {complaint_id}")
            return {
                **tracking.public_view(session, complaint),
                "complaint_id": str(complaint.id),
                "complainant": mask_complainant({k: complaint.complainant.get(k, "") for k in ("name", "phone")}),
                "business": {k: complaint.business.get(k) for k in ("name", "credit_code")},
                "clocks": case_clocks.views(list(complaint.clocks), datetime.now(UTC), None),
            }

    @rpc(expected_exceptions=EXPECTED)
    def known_businesses(self, query: str, limit: int = 20) -> list[dict[str, str]]:
        """Public: businesses complained about before, by credit-code prefix or a part of the name,
        for the portal's filing form. Only businesses with a credit code (a registered business,
        not a person's name typed as one); name and credit code only."""
        q = str(query or "").strip()
        credit = Complaint.business["credit_code"].astext
        name = Complaint.business["name"].astext
        if q.isalnum() and q.upper() == q and len(q) >= 2 and any(ch.isdigit() for ch in q):
            match = credit.startswith(q)  # ix_complaints_business_credit_prefix
        else:
            match = name.contains(q, autoescape=True)
        with self.db.read() as session:
            rows = session.execute(
                select(name, credit).where(credit.is_not(None), match).distinct().order_by(credit).limit(limit)
            ).all()
        seen: dict[str, str] = {}
        for business_name, code in rows:
            seen.setdefault(code, business_name)
        return [{"name": n, "credit_code": c} for c, n in seen.items()]

    @rpc(expected_exceptions=EXPECTED)
    def reference(self, name: str) -> list[dict[str, Any]]:
        """The code lists: categories, requests, refusal grounds (public)."""
        if name == "categories":
            return [
                {
                    "code": c.code,
                    "name_zh": c.name_zh,
                    "name_en": c.name_en,
                    "safety_related": c.safety_related,
                    "agency": c.agency,
                    "scope": c.scope,
                }
                for c in CATEGORIES
            ]
        if name == "requests":
            return [{"code": r.value, "label_zh": r.label_zh} for r in ConsumerRequest]
        if name == "refusal-grounds":
            return [
                {"code": g.value, "label_zh": g.label_zh, "other_routes_zh": g.other_routes_zh} for g in RefusalGround
            ]
        raise NotFound(f"no reference list {name}")
