"""Reporting entrypoints: keep the read model from events, answer figures within a scope."""

from __future__ import annotations

import base64
import logging
import uuid
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

from common import contracts
from common.config import ReportingSettings
from common.db import Database
from common.errors import EXPECTED, Forbidden, InvalidInput, NotFound
from common.messaging import RetiredHandlers, install_nameko_patches, on_events
from common.telemetry import Telemetry
from common.tenancy import CurrentScope, Role
from services.reporting import disclosure, exports, figures, folding, monthly, views
from services.reporting.models import Inbox

install_nameko_patches()  # before nameko builds this service's container (common/messaging.py)

log = logging.getLogger(__name__)

# how often the timer looks for monthly reports still to produce (the month just ended)
MONTHLY_INTERVAL_SECONDS = ReportingSettings().reporting_monthly_interval_seconds
CHARTS = ("trend", "categories", "sla")
# how often the rollup deltas handlers append are folded into the rollups (folding.fold); reads add
# the deltas not folded yet, so this bounds how many rows a summary reads beside the rollups
FOLD_INTERVAL_SECONDS = ReportingSettings().reporting_fold_interval_seconds
FOLD_BATCHES = 10  # at most this many batches (folding.FOLD_BATCH deltas each) per tick
# a handler takes the events of its queue that arrive within this window of the first in one
# transaction (common.messaging.BatchedEventHandler): figures may lag by this much more
BATCH_WINDOW_SECONDS = ReportingSettings().reporting_batch_window_seconds


class ReportingService:
    name = "reporting"

    db = Database(inbox=Inbox)
    telemetry = Telemetry()  # traces, handler metrics, /metrics (common/telemetry.py)
    scope = CurrentScope()
    # on-time rates come from clock.stopped.v1 now, no longer from the acknowledgement message
    retired = RetiredHandlers((contracts.MessageRecorded, "on_message_recorded"))

    @on_events(contracts.ComplaintReceived, BATCH_WINDOW_SECONDS)
    def on_complaint_received(self, events: list[tuple[uuid.UUID, contracts.ComplaintReceived]]) -> None:
        self._consume("reporting.on_complaint_received", events)

    @on_events(contracts.ComplaintRouted, BATCH_WINDOW_SECONDS)
    def on_complaint_routed(self, events: list[tuple[uuid.UUID, contracts.ComplaintRouted]]) -> None:
        self._consume("reporting.on_complaint_routed", events)

    @on_events(contracts.CaseReassigned, BATCH_WINDOW_SECONDS)
    def on_case_reassigned(self, events: list[tuple[uuid.UUID, contracts.CaseReassigned]]) -> None:
        self._consume("reporting.on_case_reassigned", events)

    # routing's moves and warnings (the routing issue): escalation counts feed the 10% line
    @on_events(contracts.CaseEscalated, BATCH_WINDOW_SECONDS)
    def on_case_escalated(self, events: list[tuple[uuid.UUID, contracts.CaseEscalated]]) -> None:
        self._consume("reporting.on_case_escalated", events)

    @on_events(contracts.CaseRoutingStep, BATCH_WINDOW_SECONDS)
    def on_case_routing_step(self, events: list[tuple[uuid.UUID, contracts.CaseRoutingStep]]) -> None:
        self._consume("reporting.on_case_routing_step", events)

    @on_events(contracts.EarlyWarningRaised, BATCH_WINDOW_SECONDS)
    def on_early_warning(self, events: list[tuple[uuid.UUID, contracts.EarlyWarningRaised]]) -> None:
        self._consume("reporting.on_early_warning", events)

    # the reporting issue: decisions and mediation (nothing else consumed mediation.transitioned.v1
    # before: its outbox rows now flow)
    @on_events(contracts.ComplaintAccepted, BATCH_WINDOW_SECONDS)
    def on_complaint_accepted(self, events: list[tuple[uuid.UUID, contracts.ComplaintAccepted]]) -> None:
        self._consume("reporting.on_complaint_accepted", events)

    @on_events(contracts.ComplaintRefused, BATCH_WINDOW_SECONDS)
    def on_complaint_refused(self, events: list[tuple[uuid.UUID, contracts.ComplaintRefused]]) -> None:
        self._consume("reporting.on_complaint_refused", events)

    @on_events(contracts.SettleFirstOpened, BATCH_WINDOW_SECONDS)
    def on_settle_first_opened(self, events: list[tuple[uuid.UUID, contracts.SettleFirstOpened]]) -> None:
        self._consume("reporting.on_settle_first_opened", events)

    @on_events(contracts.SettleFirstEnded, BATCH_WINDOW_SECONDS)
    def on_settle_first_ended(self, events: list[tuple[uuid.UUID, contracts.SettleFirstEnded]]) -> None:
        self._consume("reporting.on_settle_first_ended", events)

    # each clock's own verdict, from the service that runs it (intake, routing, mediation)
    @on_events(contracts.ClockStopped, BATCH_WINDOW_SECONDS)
    def on_clock_stopped(self, events: list[tuple[uuid.UUID, contracts.ClockStopped]]) -> None:
        self._consume("reporting.on_clock_stopped", events)

    @on_events(contracts.MediationTransitioned, BATCH_WINDOW_SECONDS)
    def on_mediation_transitioned(self, events: list[tuple[uuid.UUID, contracts.MediationTransitioned]]) -> None:
        self._consume("reporting.on_mediation_transitioned", events)

    @on_events(contracts.MediationEnded, BATCH_WINDOW_SECONDS)
    def on_mediation_ended(self, events: list[tuple[uuid.UUID, contracts.MediationEnded]]) -> None:
        self._consume("reporting.on_mediation_ended", events)

    # supervision orders (督办): sent, received, answered, accepted, sent back; overdue from the red
    # light of their clock (the other clocks' colours are not logged: nothing here reads them)
    @on_events(contracts.SupervisionOrdered, BATCH_WINDOW_SECONDS)
    def on_supervision_ordered(self, events: list[tuple[uuid.UUID, contracts.SupervisionOrdered]]) -> None:
        self._consume("reporting.on_supervision_ordered", events)

    @on_events(contracts.SupervisionAnswered, BATCH_WINDOW_SECONDS)
    def on_supervision_answered(self, events: list[tuple[uuid.UUID, contracts.SupervisionAnswered]]) -> None:
        self._consume("reporting.on_supervision_answered", events)

    @on_events(contracts.SupervisionAccepted, BATCH_WINDOW_SECONDS)
    def on_supervision_accepted(self, events: list[tuple[uuid.UUID, contracts.SupervisionAccepted]]) -> None:
        self._consume("reporting.on_supervision_accepted", events)

    @on_events(contracts.SupervisionReturned, BATCH_WINDOW_SECONDS)
    def on_supervision_returned(self, events: list[tuple[uuid.UUID, contracts.SupervisionReturned]]) -> None:
        self._consume("reporting.on_supervision_returned", events)

    @on_events(contracts.ClockColourChanged, BATCH_WINDOW_SECONDS)
    def on_clock_colour_changed(self, events: list[tuple[uuid.UUID, contracts.ClockColourChanged]]) -> None:
        overdue = [(i, e) for i, e in events if e.clock == folding.SUPERVISION_CLOCK and e.colour == "red"]
        self._consume("reporting.on_clock_colour_changed", overdue)

    def _consume(self, handler: str, events: list[tuple[uuid.UUID, Any]]) -> None:
        """Inbox, event log and read model of a batch of events in one transaction (folding.receive;
        a redelivered event changes nothing)."""
        if not events:
            return
        # complaints locked in one order by every batch (folding.complaint_lock), so two batches
        # never wait on each other in a circle; one complaint's events keep their order
        in_lock_order = sorted(events, key=lambda pair: folding.complaint_lock(pair[1]) or 0)
        with self.db.transaction() as session:
            for event_id, event in in_lock_order:
                folding.receive(session, event_id, event, handler)

    @timer(interval=FOLD_INTERVAL_SECONDS)
    def fold_rollups(self) -> None:
        """Fold the deltas into the rollups, a batch per transaction; one process at a time (an
        advisory lock: another process's tick finds it taken and leaves)."""
        for _ in range(FOLD_BATCHES):
            with self.db.transaction() as session:
                moved = folding.fold(session, wait=False)
            if moved < folding.FOLD_BATCH:
                break

    # --- monthly reports: the timer for the month just ended, a supervisor for any past month ---

    @timer(interval=MONTHLY_INTERVAL_SECONDS)
    def produce_monthly_reports(self) -> None:
        first = monthly.previous_month()
        with self.db.transaction() as session:
            created = monthly.generate(session, first, monthly.known_units(session), "timer")
        if created:
            log.info("monthly reports for %s: %s unit(s)", f"{first:%Y-%m}", len(created))

    def _unit_scope(self) -> str:
        if self.scope is None or not self.scope.valid or self.scope.is_agency:
            raise NotFound("figures by unit are for units; an agency sees the summary of its own cases")
        return self.scope.unit

    @rpc(expected_exceptions=EXPECTED)
    def generate_monthly(self, month: str) -> dict[str, Any]:
        """Produce the reports of the caller's unit and its subtree for a past month (a supervisor)."""
        unit = self._unit_scope()
        if Role.SUPERVISOR not in self.scope.roles:
            raise Forbidden("producing monthly reports is a supervisor's")
        first = monthly.parse_month(month)
        monthly.require_past(first)
        with self.db.transaction() as session:
            # the caller's own report too when nothing happened under it yet: asked for, it exists
            units = sorted({unit, *monthly.known_units(session, under=unit)})
            created = monthly.generate(session, first, units, "on_demand")
        return {"month": f"{first:%Y-%m}", "unit": unit, "created": created}

    @rpc(expected_exceptions=EXPECTED)
    def monthly(self, month: str) -> dict[str, Any]:
        unit, first = self._unit_scope(), monthly.parse_month(month)
        with self.db.scoped(self.scope, stale_ok=True) as session:
            return monthly.view(session, unit, first)

    @rpc(expected_exceptions=EXPECTED)
    def monthly_export(self, month: str, fmt: str) -> dict[str, Any]:
        """The caller's report and its children's side by side, as CSV (text) or XLSX (base64)."""
        if fmt not in ("csv", "xlsx"):
            raise InvalidInput.one("format", "csv or xlsx")
        report = self.monthly(month)
        if report["report"] is None:
            raise NotFound(f"no monthly report of {report['unit']} for {report['month']} yet")
        rows = exports.table([report["report"], *report["children"]])
        marked = "-provisional" if report["provisional"] else ""  # the month under way, as of today
        name = f"report-{report['unit']}-{report['month']}{marked}.{fmt}"
        if fmt == "csv":
            return {"filename": name, "content": exports.to_csv(rows)}
        content = exports.to_xlsx(rows, f"{report['unit']} {report['month']}")
        return {"filename": name, "base64": base64.b64encode(content).decode()}

    @rpc(expected_exceptions=EXPECTED)
    def trend(self, start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
        """Complaints received and agreements per month (the trend chart's figures; default the last
        twelve months), for the console's own charts."""
        unit = self._unit_scope()
        first, last = views.parse_period(start, end)
        with self.db.scoped(self.scope, stale_ok=True) as session:
            rows = views.monthly_trend(session, unit, first, last)
        return [{"month": month, "complaints": complaints, "agreements": agreed} for month, complaints, agreed in rows]

    @rpc(expected_exceptions=EXPECTED)
    def chart(self, name: str, start: str | None = None, end: str | None = None) -> str:
        if name not in CHARTS:
            raise NotFound(f"no chart {name!r}; there are {', '.join(CHARTS)}")
        unit = self._unit_scope()
        first, last = views.parse_period(start, end)
        with self.db.scoped(self.scope, stale_ok=True) as session:
            if name == "trend":
                return exports.trend_chart(unit, views.monthly_trend(session, unit, first, last))
            figures_ = views.read_figures(session, unit, first, last)
        return exports.categories_chart(unit, figures_) if name == "categories" else exports.sla_chart(unit, figures_)

    @rpc
    def rebuild(self) -> dict[str, int]:
        """Empty the read model and replay the event log (ops; not exposed through the gateway)."""
        with self.db.transaction() as session:
            return folding.rebuild(session)

    @rpc(expected_exceptions=EXPECTED)
    def escalations(self) -> dict[str, Any]:
        with self.db.scoped(self.scope, stale_ok=True) as session:
            return figures.escalation_rates(session, self.scope)

    @rpc(expected_exceptions=EXPECTED)
    def summary(self, start: str | None = None, end: str | None = None) -> dict[str, Any]:
        """Every figure of the caller's subtree over the period (days, inclusive); an agency: the
        volumes of the cases handed to it. Scoped: the query names the unit and row-level security
        refuses any other row."""
        first, last = views.parse_period(start, end)
        with self.db.scoped(self.scope, stale_ok=True) as session:
            if self.scope is None or not self.scope.valid or self.scope.is_agency:
                return figures.summary(session, self.scope, first, last)
            return views.read_figures(session, self.scope.unit, first, last)

    @rpc(expected_exceptions=EXPECTED)
    def disclosure(self, unit_code: str, min_accepted: int, credit_code: str | None = None) -> dict[str, Any]:
        """Public figures (消费投诉信息公示) of a unit's subtree; the gateway checks the unit publishes."""
        with self.db.read(stale_ok=True) as session:
            return disclosure.figures(session, unit_code, min_accepted, credit_code)

    @rpc
    def ping(self) -> dict[str, Any]:
        return {"service": self.name, "database": self.db.ping()}
