"""Mediation entrypoints: the case from an accepted complaint to agreement or failure, follow-up
and call-back (docs/mediation.md).

Staff reads run in `db.scoped` (row-level security as `disputes_scoped`, plus `scope_clause` in the
query); actions run as the owner in one transaction that locks the case row, applies the scope rule
in the query (out of scope: 404), checks role and state (403, 409) and emits the events through the
outbox. The expiry timer ends cases whose 60-day clock ran out.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

from common import audit, clock_watch
from common.contracts import CaseEscalated, CaseReassigned, ComplaintAccepted, OfficialCalendarChanged
from common.contracts import mediation as inputs
from common.db import Database
from common.errors import EXPECTED, Forbidden, NotFound
from common.messaging import install_nameko_patches, on_event
from common.official_calendar import OfficialCalendarCopy
from common.telemetry import Telemetry
from common.tenancy import CurrentScope, Role, Scope
from services.mediation import cases, documents, lights, states, views
from services.mediation import party as online
from services.mediation.models import Case, ClockRow, Inbox, OfficialCalendar, Outbox

install_nameko_patches()  # before nameko builds this service's container (common/messaging.py)

log = logging.getLogger(__name__)
# who at a court reads applications for judicial confirmation and answers them (an API key acts as
# agency_liaison)
COURT_ROLES = frozenset({Role.AGENCY_LIAISON, Role.SUPERVISOR})


class MediationService:
    name = "mediation"

    db = Database(Outbox, Inbox)
    telemetry = Telemetry()  # traces, handler metrics, /metrics (common/telemetry.py)
    scope = CurrentScope()
    official_calendar = OfficialCalendarCopy(OfficialCalendar)  # counted on in this process

    # --- events ---------------------------------------------------------------------------------

    @on_event(ComplaintAccepted)
    def on_complaint_accepted(self, event_id: uuid.UUID, event: ComplaintAccepted) -> None:
        with self.db.transaction() as session:
            if self.db.first_delivery(session, event_id, "mediation.on_complaint_accepted"):
                for out in cases.open_case(session, event):
                    self.db.emit(session, out)

    @on_event(CaseEscalated)
    def on_case_escalated(self, event_id: uuid.UUID, event: CaseEscalated) -> None:
        self._move(
            event_id,
            "mediation.on_case_escalated",
            event.complaint_id,
            event.to_unit,
            event.actor,
            f"escalated:{event.trigger}",
        )

    @on_event(CaseReassigned)
    def on_case_reassigned(self, event_id: uuid.UUID, event: CaseReassigned) -> None:
        self._move(
            event_id,
            "mediation.on_case_reassigned",
            event.complaint_id,
            event.to_unit,
            event.actor,
            f"reassigned:{event.reason}",
        )

    @on_event(OfficialCalendarChanged)
    def on_official_calendar_changed(self, event_id: uuid.UUID, event: OfficialCalendarChanged) -> None:
        """The platform admin entered or withdrew a year: kept, counted on, running clocks recounted."""
        self.official_calendar.apply_change(
            self.db, event_id, "mediation.on_official_calendar_changed", event, (ClockRow,)
        )

    def _move(
        self, event_id: uuid.UUID, handler: str, complaint_id: uuid.UUID, to_unit, actor: str, trigger: str
    ) -> None:
        with self.db.transaction() as session:
            if not self.db.first_delivery(session, event_id, handler):
                return
            case = session.get(Case, complaint_id, with_for_update=True)
            if case is None:  # not accepted (yet): no mediation case to move
                return
            for out in cases.move_unit(session, case, to_unit, actor=actor, trigger=trigger):
                self.db.emit(session, out)

    # --- clocks (common/clock_watch.py) ---------------------------------------------------------------

    @timer(interval=clock_watch.WATCH_INTERVAL_SECONDS)
    def watch_clocks(self) -> None:
        """Turn the 60-day and end-notice clocks yellow and red and say so, then end the cases whose
        60 days ran out (Art 22; appraisal time not counted). One timer, in this order, so a red light
        is told before the case it belongs to ends."""
        clock_watch.watch(self.db, ClockRow, ClockRow.clock, lights.holders, calendar=ClockRow.work_calendar)
        with self.db.transaction() as session:
            events = cases.expire_due(session, cases.utcnow())
            for out in events:
                self.db.emit(session, out)
        if events:
            log.info("mediation expiry: %d event(s)", len(events))

    @timer(interval=clock_watch.OPEN_CASES_INTERVAL_SECONDS)
    def count_open_cases(self) -> None:
        with self.db.read() as session:
            clock_watch.set_open_cases(session, lights.OPEN_CLOCKS)

    # --- actions --------------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def act(
        self, complaint_id: str, action: str, payload: dict[str, Any] | None = None, n: int | None = None
    ) -> dict[str, Any]:
        """One action on the case (states.ACTIONS); answers the case as the caller sees it."""
        scope = self._staff()
        if action not in inputs.INPUTS:
            raise NotFound(f"no mediation action {action!r}")
        if action == states.CONSENT and not inputs.parse(inputs.ConsentInput, payload).consent:
            action = states.REFUSE_CONSENT
        key = cases.case_key(complaint_id)
        with self.db.transaction() as session:
            case = cases.find(session, key, scope, lock=True)
            for out in cases.perform(session, case, action, scope, payload, path={"n": n}):
                self.db.emit(session, out)
            # the answer is read back from what this transaction wrote, before it commits: a value
            # PostgreSQL stores but cannot give back fails the action, and nothing is stored
            session.flush()
            session.expire_all()
            case = cases.find(session, key, scope)
            answer = views.view(case, scope)
            shown = views.shows_personal_data(case, scope, single=True)
            if shown:
                cases.record_access(session, scope, key, shown, "mediation.get_case")
        return answer

    # --- the parties online (party.py); the gateway has verified the party and its SMS code -------

    @rpc(expected_exceptions=EXPECTED)
    def party_act(
        self, complaint_id: str, party: str, action: str, body: dict[str, Any], proof: dict[str, Any]
    ) -> dict[str, Any]:
        """A party's own action, e-confirmed (`proof`: masked phone, client, verification id):
        answers the party's view and the e-confirmation recorded in the journal."""
        with self.db.transaction() as session:
            case = _party_case_row(session, complaint_id, lock=True)
            events, confirmation = online.act(case, session, party, action, body, proof)
            for out in events:
                self.db.emit(session, out)
        return {**self.party_case(complaint_id, party), "confirmation": confirmation}

    @rpc(expected_exceptions=EXPECTED)
    def party_may_act(self, complaint_id: str, party: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """Whether the party's action would be done now: tried and rolled back, raising what
        `party_act` would (Conflict, InvalidInput, Forbidden). The gateway asks before it spends the
        party's SMS code, so an action refused leaves the code for the next try."""
        with self.db.read() as session:  # never committed: closing the session rolls the try back
            case = _party_case_row(session, complaint_id, lock=True)
            online.act(case, session, party, action, body, {})
            session.flush()
        return {"allowed": True}

    @rpc(expected_exceptions=EXPECTED)
    def party_case(self, complaint_id: str, party: str) -> dict[str, Any]:
        """The mediation as the party follows it, or NotFound before the case is accepted."""
        with self.db.read() as session:
            case = _party_case_row(session, complaint_id)
            return online.view(case, party, datetime.now(UTC))

    @rpc(expected_exceptions=EXPECTED)
    def party_document(self, complaint_id: str, kind: str, n: int | None = None) -> str:
        """The agreement or a session's minutes as a party sees them (the parties masked)."""
        with self.db.read() as session:
            case = _party_case_row(session, complaint_id)
            if kind == "agreement":
                return documents.agreement_html(case, online.PARTY_SCOPE)
            if kind == "minutes" and n is not None:
                return documents.minutes_html(case, online.PARTY_SCOPE, n)
            raise NotFound(f"no document {kind!r}")

    # --- the court (诉调对接): it reads the applications made to it and records its answer -------

    @rpc(expected_exceptions=EXPECTED)
    def judicial_applications(self, limit: int = 50) -> list[dict[str, Any]]:
        """The applications for judicial confirmation made to the calling court, newest first."""
        court = self._court()
        with self.db.read() as session:
            return views.applications_to(session, court.unit, limit)

    @rpc(expected_exceptions=EXPECTED)
    def judicial_decision(self, complaint_id: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """The court's answer to the application made to it: confirmed or refused, with its ruling number."""
        court = self._court()
        with self.db.transaction() as session:
            case = self._applied_to(session, court, complaint_id, lock=True)
            actor = f"{court.user}@{court.unit}"
            for out in cases.perform(session, case, states.RECORD_JUDICIAL_DECISION, None, payload, actor=actor):
                self.db.emit(session, out)
            session.flush()
            session.expire_all()
            answer = views.court_view(self._applied_to(session, court, complaint_id))
            cases.record_access(session, court, case.complaint_id, ["name", "phone"], "mediation.judicial_decision")
        return answer

    def _court(self) -> Scope:
        if self.scope is None or not self.scope.valid or self.scope.agency != "court":
            raise Forbidden("只有受理司法确认申请的法院可以查看申请并答复")
        if not self.scope.roles & COURT_ROLES:
            raise Forbidden("司法确认申请由法院的对接联络员（agency_liaison，或其 API 密钥）或负责人（supervisor）办理")
        return self.scope

    def _applied_to(self, session: Any, court: Scope, complaint_id: str, *, lock: bool = False) -> Case:
        """The case whose application was made to `court`; others are not its to see (404)."""
        case = session.get(Case, cases.case_key(complaint_id), with_for_update=lock)
        if case is None or (cases.judicial(case) or {}).get("court") != court.unit:
            raise NotFound(f"no application for judicial confirmation of complaint {complaint_id} to {court.unit}")
        return case

    # --- reads ----------------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def get_case(self, complaint_id: str) -> dict[str, Any]:
        scope = self._staff()
        key = cases.case_key(complaint_id)
        with self.db.scoped(scope) as session:
            case = cases.find(session, key, scope)
            data = views.view(case, scope)
            shown = views.shows_personal_data(case, scope, single=True)
        self._audit(scope, key, shown, "mediation.get_case")
        return data

    @rpc(expected_exceptions=EXPECTED)
    def case_clocks(self, complaint_id: str) -> list[dict[str, Any]]:
        """The case's mediation clocks, stopped ones too; none when there is no mediation case."""
        scope = self._staff()
        key = cases.case_key(complaint_id)
        with self.db.scoped(scope) as session:
            return lights.of_case(session, cases.visible(scope), key, datetime.now(UTC))

    @rpc(expected_exceptions=EXPECTED)
    def held_clocks(
        self, colours: list[str] | None = None, kinds: list[str] | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The running mediation clocks of the cases the caller's units handle, in the colours asked."""
        scope = self._staff()
        asked = clock_watch.HeldClocks.parse(colours, kinds, limit)
        with self.db.scoped(scope) as session:
            return lights.held(session, scope, asked, datetime.now(UTC))

    @rpc(expected_exceptions=EXPECTED)
    def list_cases(self, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        scope = self._staff()
        with self.db.scoped(scope) as session:
            return views.case_list(session, scope, state, limit)

    @rpc(expected_exceptions=EXPECTED)
    def document(self, complaint_id: str, kind: str, n: int | None = None) -> str:
        """The agreement, a session's minutes or the termination notice as printable HTML."""
        scope = self._staff()
        key = cases.case_key(complaint_id)
        if kind == "judicial_application" and scope.agency == "court":
            with self.db.read() as session:
                html = documents.judicial_application_html(self._applied_to(session, scope, complaint_id), scope)
            self._audit(scope, key, ["name", "phone"], "mediation.document.judicial_application")
            return html
        with self.db.scoped(scope) as session:
            case = cases.find(session, key, scope)
            html = documents.staff_document(case, scope, kind, n)
            shown = views.shows_personal_data(case, scope, single=True)
        self._audit(scope, key, shown, f"mediation.document.{kind}")
        return html

    @rpc(expected_exceptions=EXPECTED)
    def personal_data_access(
        self, since: str | None = None, until: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The unmasked reads of mediation cases (case view, documents) of the caller's subtree, for
        tenant admins only (the gateway merges them with intake's)."""
        scope = self._staff()
        if Role.TENANT_ADMIN not in scope.roles:
            raise Forbidden("the personal-data audit log is open to tenant admins only (role tenant_admin)")
        start, end = audit.parse_instant(since, "since"), audit.parse_instant(until, "until")
        with self.db.scoped(scope) as session:
            return cases.accesses(session, scope, since=start, until=end, limit=limit)

    # --- the roster -----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def mediators(self, unit: str | None = None) -> list[dict[str, Any]]:
        scope = self._staff()
        with self.db.scoped(scope) as session:
            return views.roster(session, scope, unit)

    @rpc(expected_exceptions=EXPECTED)
    def put_mediator(self, username: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Add or change a roster entry. The gateway has checked that the user exists and holds
        the mediator role in that unit (it owns the identity schema)."""
        scope = self._staff()
        data = inputs.parse(inputs.MediatorInput, payload)
        with self.db.transaction() as session:
            member = cases.put_mediator(session, scope, username.lower(), data)
            session.flush()
            return views.mediator_view(member, cases.loads(session, member.unit_code).get(member.username, 0))

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}

    # --- helpers --------------------------------------------------------------------------------

    def _staff(self) -> Scope:
        # an agency's scope is valid but sees no mediation row (no agency column): 404s and empty lists
        if self.scope is None or not self.scope.valid:
            raise NotFound("no mediation case in your scope")
        return self.scope

    def _audit(self, scope: Scope, key: uuid.UUID, shown: list[str], endpoint: str) -> None:
        if shown:
            with self.db.transaction() as session:
                cases.record_access(session, scope, key, shown, endpoint)


def _party_case_row(session: Any, complaint_id: str, *, lock: bool = False) -> Case:
    """The mediation case a party acts on or reads (with `lock`, held until the transaction ends);
    NotFound before the complaint is accepted."""
    case = session.get(Case, cases.case_key(complaint_id), with_for_update=lock)
    if case is None:
        raise NotFound(f"no mediation case for complaint {complaint_id}")
    return case
