// The mediation case as GET /api/v1/complaints/{id}/mediation answers it (services/mediation/cases.py
// `view`), and the roster entry of GET /api/v1/mediators. Codes stay the API's.
import type { Clock } from "../../../api";

export type Party = "complainant" | "business";

export interface MediationClock extends Clock {
  pauses?: { start: string; end: string | null; reason: string | null }[];
}

export interface MediationSession {
  n: number;
  round: number;
  mode: "joint" | "single_party";
  party: Party | null;
  channel: string;
  place: string | null;
  scheduled_at: string;
  mediator: string | null;
  held_at: string | null;
  minutes: string | null;
  statements: Partial<Record<Party, string>>;
  agreed: boolean | null;
  /** the parties whose confirmation the minutes need, with when they confirmed (null: not yet) */
  confirmed_by: Partial<Record<Party, string | null>>;
}

export interface Term {
  n: number;
  kind: string;
  description: string;
  amount: string | null;
  deadline: string;
  status: "pending" | "performed" | "breached";
  overdue: boolean;
  followed_at: string | null;
  recovered_amount: string | null;
  note: string | null;
}

export interface Agreement {
  version: number;
  summary: string;
  judicial_confirmation: boolean;
  drafted_at: string;
  drafted_by: string;
  confirmed_by: Record<Party, string | null>;
  confirmed_at: string | null;
  terms: Term[];
}

export interface JudicialConfirmation {
  status: "applied" | "confirmed" | "refused";
  court: string;
  court_name: string;
  applied_at: string;
  applied_by: string;
  ruling_no?: string | null;
  reason?: string | null;
  decided_at?: string;
  decided_by?: string;
}

export interface Court {
  code: string;
  name: string;
  parent: string;
  parent_name: string;
}

export interface MediationStep {
  at: string;
  actor: string;
  action: string;
  from: string | null;
  to: string;
  detail: Record<string, unknown>;
}

export interface MediationCase {
  complaint_id: string;
  tracking_no: string;
  state: string;
  outcome: string | null;
  unit: { code: string; name: string; tier: string };
  category: string | null;
  mediator: string | null;
  parties: {
    complainant: { name: string; phone: string };
    business: { name: string; credit_code: string | null };
  };
  claim_amount: string | null;
  round: number;
  read_only: boolean;
  accepted_at: string;
  ended_at: string | null;
  consent: {
    complainant: { consented: boolean; at: string; how: string };
    business: { consented: boolean | null; at: string | null; via?: string; contact_person?: string | null; note?: string | null };
  };
  clocks: Partial<Record<"mediation" | "mediation_end_notice", MediationClock>>;
  assignments: { mediator: string; at: string; by: string; reason: string; picked: string; ended_at: string | null }[];
  recusals: {
    n: number;
    mediator: string;
    requested_by: string;
    reason: string;
    requested_at: string;
    decision: string | null;
    decided_by: string | null;
    decided_at: string | null;
    note: string | null;
    replacement: string | null;
  }[];
  sessions: MediationSession[];
  agreement: Agreement | null;
  /** 诉调对接: the application for judicial confirmation and the court's answer */
  judicial: JudicialConfirmation | null;
  judicial_deadline: string | null;
  recovered_amount: string;
  re_reviews: {
    requested_by: string;
    reason: string;
    requested_at: string;
    from_state: string;
    previous_mediator: string | null;
    reviewer: string;
    decision: string | null;
    decided_at: string | null;
  }[];
  callbacks: { party: string; score: number; comments: string | null; channel: string; at: string; by: string }[];
  remedies: string[];
  end_reason: string | null;
  end_notice: { at: string; channel?: string; note?: string | null } | null;
  allowed_actions: string[];
  history: MediationStep[];
}

export interface RosterEntry {
  username: string;
  unit: string;
  categories: string[];
  active: boolean;
  source: string;
  open_cases: number;
}
