"""Intake entrypoints: take a complaint, check it, store it, tell the others (outbox); decide on
acceptance, keep evidence, answer public tracking and the console. Each takes the message, calls
the domain (filing.py, decisions.py, evidence.py, tracking.py, complaints.py, case_status.py,
lights.py, settle_first.py) and returns; views.py and case_list.py are what it shows."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer
from sqlalchemy.orm import Session

from common import clock_watch, contracts
from common.audit import parse_instant
from common.db import Database
from common.errors import EXPECTED, Forbidden, InvalidInput, NotFound
from common.messaging import install_nameko_patches, on_event, on_events
from common.official_calendar import OfficialCalendarCopy
from common.telemetry import Telemetry
from common.tenancy import CurrentScope, Role
from services.intake import (
    audit,
    case_list,
    case_status,
    complaints,
    decisions,
    filing,
    lights,
    notices,
    settle_first,
    tracking,
    views,
)
from services.intake import evidence as evidence_files
from services.intake.dependencies import EvidenceFiles
from services.intake.models import ClockRow, Complaint, Evidence, Inbox, OfficialCalendar, Outbox
from services.intake.reassignment import CaseReassigned, record_reassignment
from services.intake.routing_events import CaseEscalated, CaseRoutingStep, record_escalation, record_step

install_nameko_patches()  # before nameko builds this service's container (common/messaging.py)

# the division registry changes rarely; a code found served stays served for this long
_SERVED_CACHE_SECONDS = 300

_Event = TypeVar("_Event")


class IntakeService:
    name = "intake"

    db = Database(Outbox, Inbox)
    telemetry = Telemetry()  # traces, handler metrics, /metrics (common/telemetry.py)
    scope = CurrentScope()
    official_calendar = OfficialCalendarCopy(OfficialCalendar)  # counted on in this process
    routing = RpcProxy("routing")
    evidence_store = EvidenceFiles()

    # nameko makes a service instance per worker: the cache lives on the class, one per process
    _served: ClassVar[dict[str, float]] = {}

    @rpc(expected_exceptions=EXPECTED)
    def submit(self, submission: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """File a complaint (any channel but e-mail; see services/intake/filing.py for who files
        what). Answers only after it is durably stored with its event; tried again while the
        database is unreachable (a standby being promoted), within the caller's deadline."""
        return self.db.retrying(
            lambda: filing.file_submission(self.db, self.scope, submission, idempotency_key, self._unserved_divisions)
        )

    @rpc(expected_exceptions=EXPECTED)
    def receive_email(self, message: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """A raw RFC 5322 message (base64) becomes a draft complaint of the clerk's unit; its
        attachments become evidence when their content is an allowed type."""
        scope = filing.require_clerk(self.scope)
        raw = evidence_files.decode(message, "message")
        return filing.file_email(self.db, scope, raw, idempotency_key, self.evidence_store)

    @rpc(expected_exceptions=EXPECTED)
    def complete_draft(self, complaint_id: str, submission: dict[str, Any]) -> dict[str, Any]:
        """A clerk of the receiving unit completes an e-mail draft: checked like any filing, then
        stored, deduplicated and announced."""
        scope = filing.require_clerk(self.scope)
        key = self._complaint_key(complaint_id)
        return filing.complete_draft(self.db, scope, key, submission, self._unserved_divisions)

    # --- acceptance decision (decisions.py) --------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def accept(self, complaint_id: str) -> dict[str, Any]:
        key = self._complaint_key(complaint_id)
        decisions.check_decidable(self.db, self.scope, key)
        return decisions.decide(
            self.db, self.scope, key, lambda session, c, now: decisions.accept(session, c, self.scope, now)
        )

    @rpc(expected_exceptions=EXPECTED)
    def refuse(self, complaint_id: str, ground: Any = None, reason: Any = None, other_routes: Any = None) -> dict:
        key = self._complaint_key(complaint_id)
        decisions.check_decidable(self.db, self.scope, key)
        parsed_ground, text, routes = decisions.parse_refusal(ground, reason, other_routes)
        return decisions.decide(
            self.db,
            self.scope,
            key,
            lambda session, c, now: decisions.refuse(
                session, c, self.scope, now, ground=parsed_ground, reason=text, other_routes=routes
            ),
        )

    # --- evidence (evidence.py) ----------------------------------------------------------------------

    def _evidence_case(self, session, key: uuid.UUID, complaint_id: str) -> Complaint:
        """The case, if the caller may handle its evidence: in scope (404 otherwise), not only a
        read-only view, and a case-handling role (or an agency liaison for a case handed to it)."""
        complaint = complaints.find_visible(session, key, self.scope, asked=complaint_id)
        views.check_evidence_handler(complaint, self.scope)
        return complaint

    @rpc(expected_exceptions=EXPECTED)
    def add_evidence(self, complaint_id: str, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store uploaded files (each {"filename", "content": base64}) as evidence of the case."""
        key = self._complaint_key(complaint_id)
        with self.db.scoped(self.scope) as session:
            existing = len(self._evidence_case(session, key, complaint_id).evidence)
        return evidence_files.add_files(
            self.db, self.evidence_store, key, existing, files, by=self.scope.user, source="upload"
        )

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
        if isinstance(files, list) and public + len(files) > evidence_files.PUBLIC_FILES:
            raise InvalidInput.one("files", f"网上投诉最多上传 {evidence_files.PUBLIC_FILES} 个文件")
        return evidence_files.add_files(
            self.db,
            self.evidence_store,
            key,
            len(complaint.evidence),
            files,
            by="complainant",
            source="web",
            public=True,
        )

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
        content = evidence_files.read(self.evidence_store, row)
        with self.db.transaction() as session:
            audit.record_access(session, self.scope, key, ["evidence"], endpoint="intake.evidence_file")
        return {
            **evidence_files.view(row),
            "extension": row.storage_key.rsplit(".", 1)[-1],
            "content": base64.b64encode(content).decode(),
        }

    # --- public tracking (tracking.py) and the portal --------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def track(self, tracking_no: str, phone_tail: str, client: str) -> dict[str, Any]:
        """{"found": view} for a right pair, {"found": None} otherwise (unknown number and wrong
        tail alike), {"retry_after": seconds} when throttled. No scope: the pair is the key."""
        return tracking.look_up(self.db, str(tracking_no), str(phone_tail or ""), str(client or "unknown"))

    @rpc(expected_exceptions=EXPECTED)
    def party_case(self, complaint_id: str) -> dict[str, Any]:
        """The public tracking view for a party the gateway signed in by SMS code (docs/parties.md),
        with the business, the complainant masked and intake's clocks (the acceptance deadline)."""
        with self.db.read() as session:
            complaint = session.get(Complaint, self._complaint_key(complaint_id))
            if complaint is None:
                raise NotFound(f"no complaint {complaint_id}")
            return tracking.party_view(session, complaint)

    @rpc(expected_exceptions=EXPECTED)
    def known_businesses(self, query: str, limit: int = 20) -> list[dict[str, str]]:
        """Public: businesses complained about before, by credit-code prefix or a part of the name,
        for the portal's filing form (views.py)."""
        with self.db.read() as session:
            return views.known_businesses(session, str(query or ""), limit)

    @rpc(expected_exceptions=EXPECTED)
    def reference(self, name: str) -> list[dict[str, Any]]:
        """The code lists: categories, requests, refusal grounds (public)."""
        found = views.reference_list(name)
        if found is None:
            raise NotFound(f"no reference list {name}")
        return found

    # --- the console ---------------------------------------------------------------------------------

    # Staff-facing reads run in `db.scoped`: the query applies the scope (scope_clause) and
    # PostgreSQL's row-level security applies it again as the non-owner role.

    @rpc(expected_exceptions=EXPECTED)
    def get_complaint(self, complaint_id: str) -> dict[str, Any]:
        """The single-case view. When it holds personal data in full, the access is written to the
        audit log (an owner transaction after the read-only scoped one) before the data is returned;
        if that write fails, the caller gets an error, never unaudited data."""
        key = self._complaint_key(complaint_id)
        with self.db.scoped(self.scope) as session:
            complaint = complaints.find_visible(session, key, self.scope, asked=complaint_id)
            data = views.case(session, complaint, self.scope)
            shown = complaints.unmasked_fields(complaint, self.scope, single=True)
        audit.record_shown(self.db, self.scope, key, shown, endpoint=f"{self.name}.get_complaint")
        return data

    @rpc(expected_exceptions=EXPECTED)
    def document(self, complaint_id: str, kind: str) -> str:
        """The acceptance or refusal notice as printable HTML (services/intake/notices.py), for staff
        who see the case (an agency: no); personal data as in the single-case view, audited alike."""
        key = self._complaint_key(complaint_id)
        if self.scope is None or self.scope.is_agency:
            raise Forbidden("the acceptance notices are for the units' staff")
        with self.db.scoped(self.scope) as session:
            complaint = complaints.find_visible(session, key, self.scope, asked=complaint_id)
            html = notices.render(complaint, self.scope, kind)
            shown = complaints.unmasked_fields(complaint, self.scope, single=True)
        audit.record_shown(self.db, self.scope, key, shown, endpoint=f"{self.name}.document.{kind}")
        return html

    @rpc(expected_exceptions=EXPECTED)
    def case_ref(self, complaint_id: str) -> dict[str, Any]:
        """Whether the caller may see a case, without its content (no personal data, no audit):
        {"id", "read_only"}, or NotFound exactly like an absent case."""
        key = self._complaint_key(complaint_id)
        with self.db.scoped(self.scope) as session:
            complaint = complaints.find_visible(session, key, self.scope, asked=complaint_id)
            return {"id": str(complaint.id), "read_only": complaints.read_only(complaint, self.scope)}

    @rpc(expected_exceptions=EXPECTED)
    def list_complaints(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """A page of the cases in scope, filtered, searched and sorted (services/intake/case_list.py):
        {"total", "items"}; a list is always masked (it never needs the phone)."""
        if self.scope is None:
            raise Forbidden("the case list is for signed-in staff")
        asked = case_list.parse(query or {}, self.scope)
        with self.db.scoped(self.scope, stale_ok=True) as session:
            total, items = case_list.page(session, self.scope, asked, datetime.now(UTC))
        return {"total": total, "items": items}

    @rpc(expected_exceptions=EXPECTED)
    def count_lights(self, query: dict[str, Any] | None = None) -> dict[str, int]:
        """How many cases in scope matching the case list's filters show each light: {"red",
        "yellow", "green"}, the counts `light=` would give, in one query (the dashboard's)."""
        if self.scope is None:
            raise Forbidden("the case list is for signed-in staff")
        asked = case_list.parse(query or {}, self.scope)
        with self.db.scoped(self.scope, stale_ok=True) as session:
            return case_list.count_lights(session, self.scope, asked)

    @rpc(expected_exceptions=EXPECTED)
    def held_clocks(
        self, colours: list[str] | None = None, kinds: list[str] | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The acknowledgement and acceptance clocks running on the cases the caller's units are
        responsible for, in the colours asked (yellow and red by default), the nearest deadline first."""
        asked = clock_watch.HeldClocks.parse(colours, kinds, limit)
        with self.db.scoped(self.scope) as session:
            responsible = complaints.in_scope(self.scope, with_viewers=False)
            return lights.held(session, asked, responsible, datetime.now(UTC))

    @rpc(expected_exceptions=EXPECTED)
    def tracking_numbers(self, complaint_ids: list[str]) -> dict[str, str]:
        """The tracking numbers of those of `complaint_ids` the caller sees (the others are left out)."""
        keys = [self._complaint_key(key) for key in complaint_ids[: clock_watch.HELD_LIMIT]]
        with self.db.scoped(self.scope) as session:
            return complaints.tracking_numbers(session, keys, self.scope)

    @rpc(expected_exceptions=EXPECTED)
    def personal_data_access(
        self, since: str | None = None, until: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The audit log of unmasked personal-data reads on the cases of the caller's subtree, for
        tenant admins only."""
        if self.scope is None or Role.TENANT_ADMIN not in self.scope.roles:
            raise Forbidden("the personal-data audit log is open to tenant admins only (role tenant_admin)")
        start, end = parse_instant(since, "since"), parse_instant(until, "until")
        with self.db.scoped(self.scope) as session:
            return audit.accesses(session, self.scope, since=start, until=end, limit=limit)

    # the two every complaint brings: a batch in one transaction (common.messaging.BatchedEventHandler)
    @on_events(contracts.ComplaintRouted)
    def on_complaint_routed(self, events: list[tuple[uuid.UUID, contracts.ComplaintRouted]]) -> None:
        with self.db.transaction() as session:
            for _, event in self.db.first_deliveries(session, events, "intake.on_complaint_routed"):
                opened = complaints.record_routing(session, event)
                if opened is not None:
                    self.db.emit(session, opened)

    @on_events(contracts.MessageRecorded)
    def on_message_recorded(self, events: list[tuple[uuid.UUID, contracts.MessageRecorded]]) -> None:
        with self.db.transaction() as session:
            for _, event in self.db.first_deliveries(session, events, "intake.on_message_recorded"):
                complaints.record_message(session, event)

    @on_event(CaseReassigned)
    def on_case_reassigned(self, event_id: uuid.UUID, event: CaseReassigned) -> None:
        self._record_once(event_id, "intake.on_case_reassigned", record_reassignment, event)

    # routing's moves (services/intake/routing_events.py, owned by the routing issue)
    @on_event(CaseEscalated)
    def on_case_escalated(self, event_id: uuid.UUID, event: CaseEscalated) -> None:
        self._record_once(event_id, "intake.on_case_escalated", record_escalation, event)

    @on_event(CaseRoutingStep)
    def on_case_routing_step(self, event_id: uuid.UUID, event: CaseRoutingStep) -> None:
        self._record_once(event_id, "intake.on_case_routing_step", record_step, event)

    @on_event(contracts.OfficialCalendarChanged)
    def on_official_calendar_changed(self, event_id: uuid.UUID, event: contracts.OfficialCalendarChanged) -> None:
        """The platform admin entered or withdrew a year: kept, counted on, running clocks recounted."""
        self.official_calendar.apply_change(
            self.db, event_id, "intake.on_official_calendar_changed", event, (ClockRow,)
        )

    # the case status follows mediation; other services' clock lights (services/intake/case_status.py)
    @on_event(contracts.MediationTransitioned)
    def on_mediation_transitioned(self, event_id: uuid.UUID, event: contracts.MediationTransitioned) -> None:
        self._record_once(event_id, "intake.on_mediation_transitioned", case_status.record_mediation, event)

    @on_event(contracts.ClockColourChanged)
    def on_clock_colour_changed(self, event_id: uuid.UUID, event: contracts.ClockColourChanged) -> None:
        self._record_once(event_id, "intake.on_clock_colour_changed", case_status.record_light, event)

    @on_event(contracts.ClockStopped)
    def on_clock_stopped(self, event_id: uuid.UUID, event: contracts.ClockStopped) -> None:
        if event.clock in case_status.OWN_CLOCKS:  # recorded when intake stopped it: no transaction
            return
        self._record_once(event_id, "intake.on_clock_stopped", case_status.record_clock_stopped, event)

    # notification: a failed message resent or the party told another way, in the case history
    @on_event(contracts.MessageHandled)
    def on_message_handled(self, event_id: uuid.UUID, event: contracts.MessageHandled) -> None:
        self._record_once(event_id, "intake.on_message_handled", complaints.record_message_handled, event)

    def _record_once(
        self, event_id: uuid.UUID, handler: str, record: Callable[[Session, _Event], object], event: _Event
    ) -> None:
        """Record the event in one transaction; a redelivered one (the inbox knows it) changes nothing."""
        with self.db.transaction() as session:
            if self.db.first_delivery(session, event_id, handler):
                record(session, event)

    # --- clocks (common/clock_watch.py) ---------------------------------------------------------------

    # --- the settle-first lane (issue 19); the gateway passes the party it verified -------------

    @rpc(expected_exceptions=EXPECTED)
    def record_business_contact(self, credit_code: Any, phone: Any) -> dict[str, Any]:
        """Staff (intake_clerk, supervisor) record a business's contact phone."""
        if self.scope is None or self.scope.is_agency or not self.scope.roles & decisions.DECIDERS:
            raise Forbidden("recording a business's contact needs the role intake_clerk or supervisor")
        with self.db.transaction() as session:
            return settle_first.record_contact(session, credit_code, phone, self.scope.user)

    @rpc(expected_exceptions=EXPECTED)
    def settle_first_cases(self, credit_code: str) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return settle_first.business_cases(session, credit_code)

    @rpc(expected_exceptions=EXPECTED)
    def settle_first_offer(self, tracking_no: str, credit_code: str, offer: Any) -> dict[str, Any]:
        with self.db.transaction() as session:
            complaint = settle_first.make_offer(session, tracking_no, credit_code, offer, datetime.now(UTC))
            return settle_first.business_view(complaint)

    @rpc(expected_exceptions=EXPECTED)
    def settle_first_reply(
        self, tracking_no: str, phone: str | None, accept: Any, comment: Any = None
    ) -> dict[str, Any]:
        with self.db.transaction() as session:
            complaint, event = settle_first.reply(session, tracking_no, phone, accept, comment, datetime.now(UTC))
            self.db.emit(session, event)
            return {**complaints.receipt(complaint), "settle_first": complaint.details["settle_first"]}

    @rpc(expected_exceptions=EXPECTED)
    def settle_first_performance(self, tracking_no: str, phone: str | None, performed: Any) -> dict[str, Any]:
        with self.db.transaction() as session:
            complaint = settle_first.confirm_performance(session, tracking_no, phone, performed, datetime.now(UTC))
            return {**complaints.receipt(complaint), "settle_first": complaint.details["settle_first"]}

    @timer(interval=settle_first.CHECK_SECONDS)
    def expire_settle_first(self) -> None:
        with self.db.transaction() as session:
            for event in settle_first.expire_due(session, datetime.now(UTC)):
                self.db.emit(session, event)

    @timer(interval=clock_watch.WATCH_INTERVAL_SECONDS)
    def watch_clocks(self) -> None:
        """Turn the acknowledgement and acceptance clocks yellow and red, and say so."""
        clock_watch.watch(self.db, ClockRow, ClockRow.clock, lights.holders, calendar=ClockRow.work_calendar)

    @timer(interval=clock_watch.OPEN_CASES_INTERVAL_SECONDS)
    def count_open_cases(self) -> None:
        with self.db.read() as session:
            clock_watch.set_open_cases(session, lights.OPEN_CLOCKS)

    @staticmethod
    def _complaint_key(complaint_id: str) -> uuid.UUID:
        try:
            return uuid.UUID(complaint_id)
        except (TypeError, ValueError, AttributeError) as exc:
            raise NotFound(f"no complaint {complaint_id}") from exc

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}

    def _unserved_divisions(self, codes: list[str]) -> set[str]:
        """Codes that are unknown or outside every onboarded unit, asking routing once per code."""
        now = time.monotonic()
        unknown = [c for c in codes if self._served.get(c, 0) < now]
        if not unknown:
            return set()
        served = self.routing.served_divisions(unknown)
        for code in unknown:
            if served.get(code):
                self._served[code] = now + _SERVED_CACHE_SECONDS
        return {code for code in unknown if not served.get(code)}
