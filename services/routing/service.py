"""Routing entrypoints: each takes the event, the RPC or the timer's turn with the time it came,
calls the domain and answers. On a new complaint, decide the responsible unit
(services/routing/responsibility.py); moving cases (handovers.py: handover, return, contest and
decision, take-over requests and declining them, agency handover; agencies.py: the agency's
answer and hand-back; escalation.py: escalation,
reclassification, take-over); the clock watcher (warning lights; red: escalation on an expired tier
target, a lapsed agency handover, an expired contest, an overdue supervision order); early warning
(warnings.py); supervision orders (督办, supervision.py, which follow every move); the tenant
registry (tenants.py, `tenant_ops` here) and the official calendar (official_calendar.py). Every
move goes through the transition table in moves.py. The caller's scope comes from the context
data. Rules and moves: docs/routing.md."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

from common import clock_watch, contracts
from common import official_calendar as calendar_copy
from common.config import RoutingSettings
from common.db import Database
from common.errors import EXPECTED
from common.messaging import install_nameko_patches, on_event, on_events
from common.telemetry import Telemetry
from common.tenancy import CurrentScope
from services.routing import (
    agencies,
    escalation,
    handovers,
    lights,
    responsibility,
    supervision,
    views,
    warnings,
)
from services.routing import official_calendar as calendar_ops
from services.routing import tenants as tenant_ops
from services.routing.dependencies import DivisionTrees
from services.routing.models import CaseClock, Inbox, OfficialCalendar, Outbox, SupervisionOrder, TierClock

install_nameko_patches()  # before nameko builds this service's container (common/messaging.py)

log = logging.getLogger(__name__)

# how often the official calendar of this year and the next is checked (gauge, notice)
CALENDAR_CHECK_SECONDS = RoutingSettings().official_calendar_check_seconds


class RoutingService:
    name = "routing"

    db = Database(Outbox, Inbox)
    telemetry = Telemetry()  # traces, handler metrics, /metrics (common/telemetry.py)
    scope = CurrentScope()
    official_calendar = calendar_copy.OfficialCalendarCopy(OfficialCalendar)

    trees = DivisionTrees()

    def _act(
        self, operation: Callable[..., list[contracts.Contract]], *args: Any, **kwargs: Any
    ) -> list[contracts.Contract]:
        """Run a move in one transaction, emit its events, reload the tree once if it was stale."""
        for attempt in (0, 1):
            try:
                with self.db.transaction() as session:
                    tree = self.trees.get(reload=attempt == 1)
                    events = operation(session, tree, *args, **kwargs)
                    events += supervision.follow(session, tree, events)  # the case's orders follow its moves
                    for event in events:
                        self.db.emit(session, event)
                    return events
            except responsibility.TreeStale:
                if attempt:
                    raise
        return []

    def _view(self, complaint_id: uuid.UUID) -> dict[str, Any]:
        tree = self.trees.get()
        with self.db.read() as session:
            return views.view(session, tree, self.scope, complaint_id, datetime.now(UTC))

    # --- events ---

    @on_events(contracts.ComplaintReceived)
    def on_complaint_received(self, events: list[tuple[uuid.UUID, contracts.ComplaintReceived]]) -> None:
        """New complaints, a batch in one transaction (two batches that lock the same early-warning
        windows in opposite order deadlock: PostgreSQL aborts one, handled again one by one)."""

        def route(session, tree):
            decided = []
            for _, event in self.db.first_deliveries(session, events, "routing.on_complaint_received"):
                decided += responsibility.route_new(session, tree, event, datetime.now(UTC))
            return decided

        self._act(route)

    @on_event(contracts.MediationEnded)
    def on_mediation_ended(self, event_id: uuid.UUID, event: contracts.MediationEnded) -> None:
        def ended(session, tree):
            if not self.db.first_delivery(session, event_id, "routing.on_mediation_ended"):
                return []
            return escalation.on_mediation_ended(session, tree, event, datetime.now(UTC))

        self._act(ended)

    @on_event(contracts.OfficialCalendarChanged)
    def on_official_calendar_changed(self, event_id: uuid.UUID, event: contracts.OfficialCalendarChanged) -> None:
        """Routing's own announcement (API or CLI): count on it and recount the running clocks."""
        try:
            with self.db.transaction() as session:
                if not self.db.first_delivery(session, event_id, "routing.on_official_calendar_changed"):
                    return
                if calendar_copy.is_latest(session, OfficialCalendar, event):
                    tree, now = self.trees.get(), datetime.now(UTC)
                    calendar_copy.count_on(event, lambda since: lights.recount(session, tree, since, now))
        except Exception:
            self.official_calendar.forget()
            raise

    # --- clocks (common/clock_watch.py, services/routing/lights.py) ---

    @timer(interval=clock_watch.WATCH_INTERVAL_SECONDS)
    def watch_clocks(self) -> None:
        """Turn the tier targets and the handovers' clocks yellow and red, and say so; a red light
        is acted on (escalation.on_clock_red) in the transaction that reports it."""
        tree = self.trees.get()

        def act(session, change: contracts.ClockColourChanged) -> list[contracts.Contract]:
            if change.colour != "red":
                return []
            events = escalation.on_clock_red(session, tree, change, datetime.now(UTC))
            return events + supervision.follow(session, tree, events)

        def act_on_order(session, change: contracts.ClockColourChanged) -> list[contracts.Contract]:
            return supervision.on_red(session, change, datetime.now(UTC)) if change.colour == "red" else []

        for model in (TierClock, CaseClock):
            clock_watch.watch(
                self.db, model, model.clock, lights.holders(tree), calendar=lights.calendars(tree), act=act
            )
        clock_watch.watch(
            self.db,
            SupervisionOrder,
            SupervisionOrder.clock,
            supervision.holders(tree),
            calendar=lights.calendars(tree),
            act=act_on_order,
            ref=supervision.ref,
        )

    @timer(interval=clock_watch.OPEN_CASES_INTERVAL_SECONDS)
    def count_open_cases(self) -> None:
        with self.db.read() as session:
            clock_watch.set_open_cases(session, lights.OPEN_CLOCKS)

    @timer(interval=CALENDAR_CHECK_SECONDS, eager=True)
    def check_official_calendar(self) -> None:
        """This year's and, from 1 December, next year's schedule: the gauge, and a notice once."""
        with self.db.transaction() as session:
            for notice in calendar_ops.check(session, datetime.now(UTC)):
                self.db.emit(session, notice)

    # --- moving cases (RPC; the gateway sends the caller's scope) ---

    @staticmethod
    def _key(value: str, what: str = "complaint") -> uuid.UUID:
        """The id of the complaint (or `what`) asked for: one that is no UUID names nothing (NotFound)."""
        from common.errors import NotFound

        try:
            return uuid.UUID(str(value))
        except ValueError as exc:
            raise NotFound(f"no {what} {value}") from exc

    def _move(
        self, operation: Callable[..., list[contracts.Contract]], complaint_id: str, *args: Any
    ) -> dict[str, Any]:
        """The caller's move on the case (`operation` of the domain, in one transaction); the answer is
        the case as the caller sees it after the move."""
        key = self._key(complaint_id)
        self._act(operation, self.scope, key, *args, now=datetime.now(UTC))
        return self._view(key)

    @rpc(expected_exceptions=EXPECTED)
    def case_routing(self, complaint_id: str) -> dict[str, Any]:
        return self._view(self._key(complaint_id))

    @rpc(expected_exceptions=EXPECTED)
    def case_clocks(self, complaint_id: str) -> list[dict[str, Any]]:
        """The case's tier target and handover clocks, stopped ones too."""
        key = self._key(complaint_id)
        with self.db.read() as session:
            return views.clocks_of(session, self.trees.get(), self.scope, key, datetime.now(UTC))

    @rpc(expected_exceptions=EXPECTED)
    def held_clocks(
        self, colours: list[str] | None = None, kinds: list[str] | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The running tier targets and handover clocks the caller's units hold, in the colours asked."""
        asked = clock_watch.HeldClocks.parse(colours, kinds, limit)
        with self.db.read() as session:
            return lights.held(session, self.trees.get(), self.scope, asked, datetime.now(UTC))

    @rpc(expected_exceptions=EXPECTED)
    def accept_handover(self, complaint_id: str) -> dict[str, Any]:
        return self._move(handovers.accept_handover, complaint_id)

    @rpc(expected_exceptions=EXPECTED)
    def acknowledge_handover(self, complaint_id: str) -> dict[str, Any]:
        return self._move(handovers.acknowledge_agency, complaint_id)

    @rpc(expected_exceptions=EXPECTED)
    def answer_handover(self, complaint_id: str, answer: str, outcome: str | None = None) -> dict[str, Any]:
        return self._move(agencies.answer, complaint_id, answer, outcome)

    @rpc(expected_exceptions=EXPECTED)
    def hand_back(self, complaint_id: str, reason: str) -> dict[str, Any]:
        """The agency hands the case back. It no longer sees the case: the answer says only where the
        case is now."""
        key = self._key(complaint_id)
        return views.handed_back(self._act(agencies.hand_back, self.scope, key, reason, now=datetime.now(UTC))[0])

    @rpc(expected_exceptions=EXPECTED)
    def agency_handovers(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return agencies.handovers(session, self.trees.get(), self.scope, limit)

    @rpc(expected_exceptions=EXPECTED)
    def return_case(self, complaint_id: str, reason: str = "") -> dict[str, Any]:
        return self._move(handovers.return_case, complaint_id, reason)

    @rpc(expected_exceptions=EXPECTED)
    def contest(self, complaint_id: str, reason: str = "") -> dict[str, Any]:
        return self._move(handovers.contest, complaint_id, reason)

    @rpc(expected_exceptions=EXPECTED)
    def decide_authority(self, complaint_id: str, unit: str, reason: str = "") -> dict[str, Any]:
        return self._move(handovers.decide_authority, complaint_id, unit, reason)

    @rpc(expected_exceptions=EXPECTED)
    def escalate(self, complaint_id: str, trigger: str, reason: str = "") -> dict[str, Any]:
        return self._move(escalation.request_escalation, complaint_id, trigger, reason)

    @rpc(expected_exceptions=EXPECTED)
    def reclassify(
        self, complaint_id: str, claim_amount: Any = None, category: str | None = None, reason: str = ""
    ) -> dict[str, Any]:
        key = self._key(complaint_id)
        escalated: list[bool] = []

        def run(session, tree):
            done, events = escalation.reclassify(
                session,
                tree,
                self.scope,
                key,
                claim_amount=claim_amount,
                category=category,
                reason=reason,
                now=datetime.now(UTC),
            )
            escalated.append(done)
            return events

        self._act(run)
        view = self._view(key)
        # the caller may have only a read-only view now (it passed the case up): that is the answer
        return {**view, "escalated": escalated[-1]}

    @rpc(expected_exceptions=EXPECTED)
    def take_over(self, complaint_id: str, reason: str = "") -> dict[str, Any]:
        return self._move(escalation.take_over, complaint_id, reason)

    @rpc(expected_exceptions=EXPECTED)
    def request_takeover(self, complaint_id: str, reason: str = "") -> dict[str, Any]:
        return self._move(handovers.request_takeover, complaint_id, reason)

    @rpc(expected_exceptions=EXPECTED)
    def decline_takeover(self, complaint_id: str, reason: str = "") -> dict[str, Any]:
        return self._move(handovers.decline_takeover, complaint_id, reason)

    # --- supervision orders (督办, services/routing/supervision.py) ---

    def _order(self, order_id: uuid.UUID) -> dict[str, Any]:
        with self.db.read() as session:
            return supervision.one(session, self.trees.get(), self.scope, order_id, datetime.now(UTC))

    def _order_move(
        self, operation: Callable[..., list[contracts.Contract]], order_id: str, *args: Any
    ) -> dict[str, Any]:
        """The caller's move on a supervision order, like `_move`; the answer is the order after it."""
        key = self._key(order_id, "supervision order")
        self._act(operation, self.scope, key, *args, now=datetime.now(UTC))
        return self._order(key)

    @rpc(expected_exceptions=EXPECTED)
    def supervise(
        self, complaint_id: str, instruction: str, working_days: int | None = None, to_unit: str | None = None
    ) -> dict[str, Any]:
        key = self._key(complaint_id)
        events = self._act(supervision.send, self.scope, key, instruction, working_days, to_unit, now=datetime.now(UTC))
        return self._order(events[0].order_id)

    @rpc(expected_exceptions=EXPECTED)
    def answer_supervision(self, order_id: str, answer: str, attachments: list[str] | None = None) -> dict[str, Any]:
        return self._order_move(supervision.answer, order_id, answer, attachments)

    @rpc(expected_exceptions=EXPECTED)
    def accept_supervision(self, order_id: str, note: str = "") -> dict[str, Any]:
        return self._order_move(supervision.accept, order_id, note)

    @rpc(expected_exceptions=EXPECTED)
    def return_supervision(self, order_id: str, reason: str, working_days: int | None = None) -> dict[str, Any]:
        return self._order_move(supervision.send_back, order_id, reason, working_days)

    @rpc(expected_exceptions=EXPECTED)
    def supervision_order(self, order_id: str) -> dict[str, Any]:
        return self._order(self._key(order_id, "supervision order"))

    @rpc(expected_exceptions=EXPECTED)
    def supervision_orders(
        self, box: str | None = None, overdue: bool = False, state: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return supervision.listing(
                session,
                self.trees.get(),
                self.scope,
                datetime.now(UTC),
                box=box,
                overdue=overdue,
                state=state,
                limit=limit,
            )

    @rpc(expected_exceptions=EXPECTED)
    def case_supervision_orders(self, complaint_id: str) -> list[dict[str, Any]]:
        key = self._key(complaint_id)
        with self.db.read() as session:
            return supervision.of_case(session, self.trees.get(), self.scope, key, datetime.now(UTC))

    @rpc(expected_exceptions=EXPECTED)
    def warnings(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return warnings.warnings_in_scope(session, self.scope, limit)

    # --- the registry ---

    def _change_registry(self, operation: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Change the tenant registry for the caller in one transaction; the cached tree is stale then."""
        with self.db.transaction() as session:
            result = operation(session, self.scope, *args, **kwargs)
        self.trees.forget()
        return result

    @rpc(expected_exceptions=EXPECTED)
    def served_divisions(self, codes: list[str]) -> dict[str, bool]:
        from services.routing import registry

        with self.db.read() as session:
            return registry.served(session, codes)

    @rpc(expected_exceptions=EXPECTED)
    def served_units(self, parent: str | None = None) -> list[dict[str, Any]]:
        """Public: the served places under `parent` for the portal's cascading choice (docs/parties.md)."""
        from services.routing import registry

        with self.db.read() as session:
            return registry.served_children(session, parent)

    @rpc(expected_exceptions=EXPECTED)
    def tenant(self, code: str) -> dict[str, Any]:
        with self.db.read() as session:
            return tenant_ops.tenant(session, self.scope, code)

    @rpc(expected_exceptions=EXPECTED)
    def effective_settings(self, code: str) -> dict[str, Any]:
        with self.db.read() as session:
            return tenant_ops.effective_settings(session, self.scope, code)

    @rpc(expected_exceptions=EXPECTED)
    def disclosure_policy(self, code: str) -> dict[str, Any]:
        with self.db.read() as session:
            return tenant_ops.disclosure_policy(session, code)

    @rpc(expected_exceptions=EXPECTED)
    def tenants(self, parent: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return tenant_ops.tenants(session, self.scope, parent, kind)

    @rpc(expected_exceptions=EXPECTED)
    def courts(self, unit_code: str) -> list[dict[str, Any]]:
        """The courts onboarded in the city of `unit_code` (judicial confirmation goes to one)."""
        with self.db.read() as session:
            return tenant_ops.courts(session, unit_code)

    @rpc(expected_exceptions=EXPECTED)
    def tenant_audit(self, code: str, limit: int = tenant_ops.AUDIT_LIMIT) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return tenant_ops.audit_trail(session, self.scope, code, limit)

    @rpc(expected_exceptions=EXPECTED)
    def rename_agency(self, code: str, name: Any) -> dict[str, Any]:
        return self._change_registry(tenant_ops.rename_agency, code, name)

    @rpc(expected_exceptions=EXPECTED)
    def update_settings(self, code: str, overrides: Any) -> dict[str, Any]:
        """Apply a JSON merge patch to the tenant's own overrides (null removes one)."""
        return self._change_registry(tenant_ops.update_settings, code, overrides)

    @rpc(expected_exceptions=EXPECTED)
    def onboard(
        self,
        code: str,
        subtree: bool = False,
        kind: str = "unit",
        agency_type: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        return self._change_registry(
            tenant_ops.onboard, code, subtree=subtree, kind=kind, agency_type=agency_type, name=name
        )

    @rpc(expected_exceptions=EXPECTED)
    def offboard(self, code: str) -> dict[str, Any]:
        """Remove a tenant; a unit's open cases move to the nearest onboarded unit above it, each
        announced with `case.reassigned.v1` from the same transaction."""
        with self.db.transaction() as session:
            result, events = tenant_ops.offboard(session, self.scope, code)
            for event in events:
                lights.move_tier_clock(session, self.trees.get(), event.complaint_id, event.to_unit, event.at)
                self.db.emit(session, event)
            for event in supervision.follow(session, self.trees.get(), events):
                self.db.emit(session, event)
        self.trees.forget()
        return result

    # --- the official calendar (services/routing/official_calendar.py) ---

    @rpc(expected_exceptions=EXPECTED)
    def official_calendar_years(self) -> dict[str, Any]:
        with self.db.read() as session:
            return calendar_ops.years(session, datetime.now(UTC))

    @rpc(expected_exceptions=EXPECTED)
    def official_calendar_year(self, year: int) -> dict[str, Any]:
        with self.db.read() as session:
            return calendar_ops.year_view(session, year)

    @rpc(expected_exceptions=EXPECTED)
    def enter_official_calendar(self, year: Any, schedule: dict[str, Any]) -> dict[str, Any]:
        """Enter (or replace) a year's schedule (platform_admin); routing counts on it once its own
        announcement comes back (on_official_calendar_changed), intake and mediation on theirs."""
        actor, now = calendar_ops.authorize(self.scope), datetime.now(UTC)
        change = calendar_ops.enter(actor, year, schedule, now)
        return self._record_calendar(change, now)

    @rpc(expected_exceptions=EXPECTED)
    def withdraw_official_calendar(self, year: int) -> dict[str, Any]:
        actor, now = calendar_ops.authorize(self.scope), datetime.now(UTC)
        with self.db.read() as session:
            change = calendar_ops.withdraw(session, year, actor, now)
        return self._record_calendar(change, now)

    def _record_calendar(self, change: contracts.OfficialCalendarChanged, now: datetime) -> dict[str, Any]:
        with self.db.transaction() as session:
            calendar_copy.store(session, OfficialCalendar, change)
            self.db.emit(session, change)
            for notice in calendar_ops.check(session, now):
                self.db.emit(session, notice)
            return calendar_ops.years(session, now)

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}
