"""The dashboards' charts: SVG drawn on the server by pygal from the aggregated figures, each
with a caption and the table of the numbers it was drawn from (its text alternative).

pygal's SVG is made accessible and script-free here: its <title> and a <desc> name the chart and
say what it shows, `role="img"` points at both, and the <script> it adds for its tooltips (a
config blob; the tooltip code itself would come from a CDN) is removed: the charts are static
pictures, the tables carry the exact numbers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

from engine.cases.dashboards import (
    AGES,
    AgeCount,
    KpiFigures,
    SlaWeek,
)

# Okabe-Ito: told apart by people with any common colour-vision deficiency
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
STYLE = Style(background="transparent", plot_background="transparent", foreground="#1b1f24",
              foreground_strong="#1b1f24", foreground_subtle="#d0d7de", opacity="1",
              opacity_hover=".85", colors=COLOURS,
              font_family="system-ui, -apple-system, 'Segoe UI', sans-serif",
              label_font_size=13, major_label_font_size=13, value_font_size=13,
              legend_font_size=13, title_font_size=15, no_data_font_size=18)
KPI_TITLES = {"sales_growth": "Sales growth", "satisfaction": "Satisfaction (CSAT 1-5)",
              "retention": "Retention", "repeat_purchase_rate": "Repeat purchases",
              "nps": "NPS (-100 to 100)"}
# What a KPI's bar is drawn against: the top of its scale (shares and rates: 1).
KPI_SCALES = {"satisfaction": 5.0, "nps": 100.0}


@dataclass(frozen=True)
class Chart:
    """One dashboard chart: what it is, the picture, and the numbers it was drawn from."""

    key: str  # tiers | sla | ages | kpis: also its URL, /dashboards/<key>
    title: str
    caption: str
    svg: Markup
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    empty: str | None = None  # said instead of the table when there is nothing to count
    labels: int = 1  # how many leading columns name a row (text) rather than count


def tier_chart(counts: Sequence[tuple[str | None, int]]) -> Chart:
    labels = [tier or "none yet" for tier, _ in counts]
    total = sum(n for _, n in counts)
    desc = ", ".join(f"{label}: {n}" for label, (_, n) in zip(labels, counts, strict=True))
    chart = _graph(pygal.Bar, "Customers per tier", desc, show_legend=False, print_values=True,
                   y_labels=_count_axis(max((n for _, n in counts), default=0)),
                   value_formatter=_whole)
    chart.x_labels = labels
    chart.add("Customers", [n for _, n in counts])
    rows = [(label, str(n), _percent(n / total) if total else "")
            for label, (_, n) in zip(labels, counts, strict=True)]
    return Chart("tiers", "Tier distribution",
                 "Customers per tier as the latest recompute set it; \"none yet\" are customers "
                 "no recompute has tiered.", _render(chart), ("Tier", "Customers", "Share"),
                 [*rows, ("all", str(total), _percent(1) if total else "")],
                 None if total else "There are no customers yet.")


def sla_chart(weeks: Sequence[date], found: Sequence[SlaWeek]) -> Chart:
    queues = sorted({w.queue for w in found})
    cells = {(w.queue, w.week): w for w in found}
    desc = "; ".join(f"{queue}: " + ", ".join(
        f"week of {_day(w)} {_percent(cells[queue, w].share_met)}"
        for w in weeks if (queue, w) in cells) for queue in queues) or "no clock stopped"
    chart = _graph(pygal.Line, "Share of SLA clocks met, per week and queue", desc,
                   range=(0, 100), allow_interruptions=True, **_ticks(queues, [0, 25, 50, 75, 100]),
                   value_formatter=lambda v: f"{v:.0f}%", x_label_rotation=30, dots_size=4)
    chart.x_labels = [_day(w) for w in weeks]
    for queue in queues:
        chart.add(queue, [100 * cells[queue, w].share_met if (queue, w) in cells else None
                          for w in weeks])
    rows = [(f"{w.week.isocalendar().year}-W{w.week.isocalendar().week:02d} "
             f"(from {w.week.isoformat()})", w.queue, str(w.met), str(w.breached),
             _percent(w.share_met)) for w in found]
    return Chart("sla", "SLA attainment by week and queue",
                 f"Of the SLA clocks that stopped in each of the last {len(weeks)} ISO weeks "
                 f"(weeks start on Monday, UTC), the share that stopped within target. A "
                 "clock without a target is not counted. A closed case is in no queue: its "
                 "clocks are shown as \"<workflow> (closed)\".", _render(chart),
                 ("Week", "Queue", "Met", "Breached", "Share met"), rows,
                 None if rows else f"No SLA clock stopped in the last {len(weeks)} weeks.",
                 labels=2)


def ages_chart(found: Sequence[AgeCount]) -> Chart:
    queues = sorted({a.queue for a in found})
    counts = {(a.queue, a.bucket): a.count for a in found}
    totals = {q: sum(counts.get((q, b), 0) for b in range(len(AGES))) for q in queues}
    desc = "; ".join(f"{q}: {totals[q]} open, " + ", ".join(
        f"{counts[q, b]} {label}" for b, (label, _) in enumerate(AGES) if (q, b) in counts)
        for q in queues) or "no open case"
    chart = _graph(pygal.StackedBar, "Open cases per queue by age", desc,
                   **_ticks(queues, _count_axis(max(totals.values(), default=0))),
                   value_formatter=_whole, x_label_rotation=20 if len(queues) > 5 else 0)
    chart.x_labels = queues
    for bucket, (label, _) in enumerate(AGES):
        chart.add(label, [counts.get((q, bucket)) for q in queues])
    rows = [(q, *(str(counts.get((q, b), 0)) for b in range(len(AGES))), str(totals[q]))
            for q in queues]
    if rows:
        rows.append(("all", *(str(sum(counts.get((q, b), 0) for q in queues))
                              for b in range(len(AGES))), str(sum(totals.values()))))
    return Chart("ages", "Open cases by age",
                 "Every open case per queue, by how long ago it was opened.", _render(chart),
                 ("Queue", *(label for label, _ in AGES), "Open"), rows,
                 None if rows else "There are no open cases.")


def kpi_chart(year: int | None, measured: int, figures: Sequence[KpiFigures]) -> Chart:
    """Per KPI three bars on one axis: the mean goal, the mean actual and the share of customers
    that met the goal (0.5 = half of them). The KPIs are fractions (0.10 = 10% growth) except
    satisfaction, on a 1-5 scale: its goal and actual are drawn as a share of the scale's top
    (4.5 -> 0.9), and the bar labels and the table give the real values."""
    titles = [KPI_TITLES.get(f.kpi, f.kpi) for f in figures]
    scale = {f.kpi: KPI_SCALES.get(f.kpi, 1.0) for f in figures}
    bars = {"Mean goal": [_kpi_bar(f.mean_goal, scale[f.kpi], "{:.2f}") for f in figures],
            "Mean actual": [_kpi_bar(f.mean_actual, scale[f.kpi], "{:.2f}") for f in figures],
            "Share that met the goal": [_kpi_bar(f.share_met, 1.0, "{:.0%}") for f in figures]}
    drawn = [bar["value"] for values in bars.values() for bar in values if bar is not None]
    desc = "; ".join(
        f"{t}: mean goal {_number(f.mean_goal)}, mean actual {_number(f.mean_actual)}, "
        f"{_percent(f.share_met) or 'none'} met the goal"
        for t, f in zip(titles, figures, strict=True))
    of_year = f" of {year}" if year is not None else ""
    chart = _graph(pygal.Bar, f"Annual KPIs{of_year}: mean goal, mean actual, share met",
                   desc if measured else "no measured cycle", print_values=True,
                   range=(min([0.0, *drawn]), max([1.0, *drawn])),
                   value_formatter=lambda v: f"{v:.2f}")
    chart.x_labels = titles
    for name, values in bars.items():
        chart.add(name, values)
    rows = [(t, str(f.compared + f.no_actual), _number(f.mean_goal), _number(f.mean_actual),
             f"{f.met} of {f.compared}" if f.compared else "", _percent(f.share_met),
             str(f.no_actual)) for t, f in zip(titles, figures, strict=True)]
    return Chart("kpis", "Annual KPIs against goals", _kpi_caption(year, measured),
                 _render(chart),
                 ("KPI", "With a goal", "Mean goal", "Mean actual", "Met the goal", "Share met",
                  "Not measurable"), rows if measured else [],
                 None if measured else "No annual cycle has been measured"
                 + (f" for {year}." if year else " yet."))


def _kpi_caption(year: int | None, measured: int) -> str:
    """What the KPI chart shows; with nothing measured, what it will show once cycles are."""
    how = ("per KPI, the mean goal and the mean actual over the customers with both, and the "
           "share of those customers whose actual reached their goal. Satisfaction is drawn as "
           "a share of its 5-point scale; the table has the values.")
    if not measured:
        return f"Once annual cycles are measured, this chart shows {how}"
    cycles = (f"annual cycle of {year} that has" if measured == 1
              else f"annual cycles of {year} that have")
    return f"The {measured} {cycles} been measured: {how}"


def _kpi_bar(value: float | None, scale: float, label: str) -> dict[str, Any] | None:
    """A bar drawn at value / scale and labelled with the value itself."""
    if value is None:
        return None
    text = label.format(value)
    return {"value": value / scale, "formatter": lambda _: text}


def _graph(kind: Callable[..., Any], title: str, desc: str, **config: Any) -> Any:
    chart = kind(style=STYLE, js=[], disable_xml_declaration=True, width=800, height=360,
                 legend_at_bottom=True, legend_at_bottom_columns=3, truncate_label=-1,
                 truncate_legend=-1, no_data_text="Nothing to draw", **config)
    return chart.add_xml_filter(_accessible(title, desc))


def _accessible(title: str, desc: str) -> Callable[[Any], Any]:
    """An xml filter: the chart's <title> and a <desc> say what it shows; no <script>."""

    def apply(root: Any) -> Any:
        prefix = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        for parent in list(root.iter()):
            for child in list(parent):
                if child.tag in (f"{prefix}script", f"{prefix}style"):
                    parent.remove(child)
        _presentation_attributes(root)
        ident = root.get("id")
        heading = root.find(f"{prefix}title")
        heading.text = title
        heading.set("id", f"{ident}-title")
        described = root.makeelement(f"{prefix}desc", {"id": f"{ident}-desc"})
        described.text = desc
        root.insert(list(root).index(heading) + 1, described)
        root.set("role", "img")
        root.set("aria-labelledby", f"{ident}-title {ident}-desc")
        return root

    return apply


def _presentation_attributes(root: Any) -> None:
    """Each style="p: v" attribute as the SVG attribute p="v": the page's Content-Security-
    Policy (web/headers.py) refuses inline styles, not presentation attributes."""
    for element in root.iter():
        style = element.attrib.pop("style", None)
        for declaration in (style or "").split(";"):
            name, _, value = declaration.partition(":")
            if name.strip() and value.strip():
                element.set(name.strip(), value.strip())


def stylesheet() -> str:
    """The charts' CSS, which pygal writes into each SVG under its id, for every chart: the
    page loads it as web/static/charts.css (tests/web/test_headers.py keeps the file equal)."""
    chart = pygal.Bar(style=STYLE, js=[], disable_xml_declaration=True)
    chart.add("a", [1])
    svg = str(chart.render(is_unicode=True))
    ident = re.search(r'id="(chart-[^"]+)"', svg)
    css = re.findall(r"<style[^>]*>(.*?)</style>", svg, re.S)
    return "\n".join(c.replace(f"#{ident.group(1) if ident else ''}", ".pygal-chart")
                     for c in css) + "\n"


def _render(chart: Any) -> Markup:
    # pygal writes the SVG with an XML serializer that escapes every text and attribute
    # (queue names, tiers), so it can go into the page as markup
    return Markup(str(chart.render()))


def _ticks(series: Sequence[str], ticks: list[int]) -> dict[str, list[int]]:
    """The y axis ticks, for a chart with something to draw (pygal fails on ticks alone)."""
    return {"y_labels": ticks} if series else {}


def _count_axis(top: int) -> list[int]:
    """Whole-number ticks from 0 past `top`, at most about six of them."""
    step = max(1, -(-top // 5))
    return list(range(0, top + step + 1, step)) if top else [0, 1]


def _whole(value: float) -> str:
    return f"{value:.0f}"


def _percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}%"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _day(week: date) -> str:
    return f"{week.day} {week.strftime('%b')}"
