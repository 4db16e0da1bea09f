"""Downloads (CSV, XLSX with openpyxl) and charts (SVG written directly): pure, no database."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

# (label, path in the figures) of the fixed lines of a monthly table; the breakdowns follow
FIXED_LINES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("投诉总量 complaints", ("total",)),
    ("争议金额 claimed (CNY)", ("claim_amount",)),
    ("受理 accepted", ("acceptance", "accepted")),
    ("不予受理 refused", ("acceptance", "refused")),
    ("受理率 acceptance rate", ("acceptance", "rate")),
    ("调解结束 mediations ended", ("mediation", "ended")),
    ("调解成功 agreements", ("mediation", "agreements")),
    ("调解成功率 success rate", ("mediation", "success_rate")),
    ("挽回经济损失 recovered, agreed (CNY)", ("money_recovered", "agreed")),
    ("已履行 recovered, performed (CNY)", ("money_recovered", "performed")),
    ("24小时告知 on time", ("on_time", "acknowledgement", "rate")),
    ("7日受理 on time", ("on_time", "acceptance", "rate")),
    ("60日调解 on time", ("on_time", "mediation", "rate")),
    ("结束告知 on time", ("on_time", "end_notice", "rate")),
    ("层级时限 on time", ("on_time", "tier_target", "rate")),
    ("受理用时 decision, average hours", ("durations", "decision", "average_hours")),
    ("受理用时 decision, p95 hours", ("durations", "decision", "p95_hours")),
    ("调解用时 mediation, average hours", ("durations", "mediation", "average_hours")),
    ("调解用时 mediation, p95 hours", ("durations", "mediation", "p95_hours")),
    ("满意度 satisfaction (1-5)", ("satisfaction", "average")),
    ("回访 call-backs", ("satisfaction", "responses")),
    ("预警 early warnings", ("early_warnings", "raised")),
    ("督办下发 supervision orders sent", ("supervision", "sent")),
    ("督办收到 supervision orders received", ("supervision", "received")),
    ("督办答复 answered", ("supervision", "answered")),
    ("督办逾期答复 answered late", ("supervision", "answered_late")),
    ("督办认可 accepted", ("supervision", "accepted")),
    ("督办退回 returned", ("supervision", "returned")),
    ("督办逾期 overdue", ("supervision", "overdue")),
)
BREAKDOWNS = (("渠道 channel", "by_channel"), ("类别 category", "by_category"), ("状态 status", "by_status"))


def _get(figures: dict[str, Any], path: Sequence[str]) -> Any:
    value: Any = figures
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def table(reports: list[dict[str, Any]]) -> list[list[Any]]:
    """Rows of the side-by-side table: a header of units, then one line per figure."""
    header = ["figure", *(f"{r['unit']} {r['figures'].get('name') or ''}".strip() for r in reports)]
    rows: list[list[Any]] = [header]
    for label, path in FIXED_LINES:
        rows.append([label, *(_get(r["figures"], path) for r in reports)])
    for label, key in BREAKDOWNS:
        names = sorted({k for r in reports for k in (r["figures"].get(key) or {})})
        for name in names:
            rows.append([f"{label}: {name}", *((r["figures"].get(key) or {}).get(name, 0) for r in reports)])
    return rows


def to_csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def to_xlsx(rows: list[list[Any]], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append([_cell(v) for v in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 38
    sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value) if value.replace(".", "", 1).lstrip("-").isdigit() else value
        except ValueError:
            return value
    return value


# --- SVG ---------------------------------------------------------------------------------------

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948")
FONT = "font-family='Noto Sans CJK SC, sans-serif' font-size='12'"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    percent: bool = False,
    width: int = 760,
    height: int = 360,
) -> str:
    """A grouped vertical bar chart: one group per label, one bar per series."""
    left, right, top, bottom = 56, 16, 40, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    top_value = 1.0 if percent else max([*values, 1])
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>",
        f"<title>{escape(title)}</title>",
        "<rect width='100%' height='100%' fill='white'/>",
        f"<text x='{width / 2}' y='22' text-anchor='middle' {FONT} font-weight='bold'>{escape(title)}</text>",
    ]
    for i in range(5):
        share = i / 4
        y = top + plot_h - share * plot_h
        label = f"{share * 100:.0f}%" if percent else _short(share * top_value)
        parts.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - right}' y2='{y:.1f}' stroke='#ddd'/>")
        parts.append(f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' {FONT}>{label}</text>")
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    for g, label in enumerate(labels):
        x0 = left + g * group_w + group_w * 0.1
        for s, (name, vs) in enumerate(series):
            value = vs[g] if g < len(vs) else None
            if value is None:
                continue
            h = plot_h * (value / top_value if top_value else 0)
            x, y = x0 + s * bar_w, top + plot_h - h
            shown = f"{value * 100:.1f}%" if percent else _short(value)
            parts.append(
                f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar_w:.1f}' height='{h:.1f}' "
                f"fill='{PALETTE[s % len(PALETTE)]}'><title>{escape(f'{label} {name}: {shown}')}</title></rect>"
            )
        cx = left + g * group_w + group_w / 2
        parts.append(
            f"<text x='{cx:.1f}' y='{top + plot_h + 16}' text-anchor='end' {FONT} "
            f"transform='rotate(-35 {cx:.1f} {top + plot_h + 16})'>{escape(str(label))}</text>"
        )
    if len(series) > 1:
        for s, (name, _) in enumerate(series):
            x = left + s * 130
            parts.append(f"<rect x='{x}' y='{height - 18}' width='10' height='10' fill='{PALETTE[s % len(PALETTE)]}'/>")
            parts.append(f"<text x='{x + 14}' y='{height - 9}' {FONT}>{escape(name)}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def _short(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def trend_chart(unit: str, months: Sequence[tuple[str, int, int]]) -> str:
    """Complaints and agreements per month: `months` is (YYYY-MM, complaints, agreements)."""
    return bar_chart(
        f"{unit} 月度趋势 complaints and agreements by month",
        [m for m, _, _ in months],
        [("complaints 投诉", [c for _, c, _ in months]), ("agreements 调解成功", [a for _, _, a in months])],
    )


def categories_chart(unit: str, figures: dict[str, Any]) -> str:
    top = figures.get("top_categories") or []
    return bar_chart(
        f"{unit} 类别 complaints by category",
        [c["category"] for c in top],
        [("complaints", [c["complaints"] for c in top])],
    )


def sla_chart(unit: str, figures: dict[str, Any]) -> str:
    """On-time rate per clock for the unit and each child unit."""
    units = [unit, *sorted(figures.get("on_time_by_unit") or {})]
    by_unit = {unit: figures.get("on_time") or {}, **(figures.get("on_time_by_unit") or {})}
    clocks = ("acknowledgement", "acceptance", "mediation", "end_notice", "tier_target")
    series = [(clock, [(by_unit[u].get(clock) or {}).get("rate") for u in units]) for clock in clocks]
    return bar_chart(f"{unit} 按时率 on-time rate by unit", units, series, percent=True)
