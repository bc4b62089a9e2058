"""Plotly figures (as JSON-ready dicts) of the merged insights of :mod:`ticket_airflow.ui.insights`.

The page draws them with the ``plotly.min.js`` bundle shipped inside the ``plotly`` wheel (served by
the app, no CDN, no JavaScript build). Figures are plain dicts in Plotly's figure schema, built
without ``plotly.graph_objects`` (its validation costs tens of milliseconds per figure; the unit
tests validate every figure with it instead). Colours are fixed per team and per priority, so a
team has the same colour on every chart; text colours follow the page's light or dark theme
(set by the page's script).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ticket_etl import topology
from ticket_etl.interval import iso_utc, parse_utc

# One colour per team (Okabe-Ito, readable for colour-blind people), others from a fallback list.
TEAM_COLOURS = {"incident": "#D55E00", "support_general": "#0072B2", "produit": "#009E73"}
FALLBACK_COLOURS = ("#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#999999")
PRIORITY_COLOURS = {"low": "#8DA0B3", "medium": "#56B4E9", "high": "#E69F00", "critical": "#C0392B"}
REJECTED_COLOUR, DUPLICATE_COLOUR = "#C0392B", "#8E7CC3"

Figure = dict[str, Any]


def team_colour(team: str, teams: list[str] | None = None) -> str:
    """The colour of ``team``: fixed for the project's teams, else taken in turn from a fallback list."""
    if team in TEAM_COLOURS:
        return TEAM_COLOURS[team]
    others = sorted(set(teams or [team]) - set(TEAM_COLOURS))
    index = others.index(team) if team in others else 0
    return FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)]


def ordered_teams(seen: list[str]) -> list[str]:
    """The project's teams in their configured order (even with no ticket), then any other, sorted."""
    known = list(topology.TEAMS)
    return known + sorted(set(seen) - set(known))


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left"},
        "margin": {"l": 60, "r": 20, "t": 48, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hovermode": "closest",
        **extra,
    }


HOUR_MS = 3_600_000


def within_hour(share: float = 0.8, start: float = 0.1) -> dict[str, int]:
    """Bar geometry on a date axis: a bar whose x is an hour's start is drawn inside that hour,
    from ``start`` of the hour over ``share`` of it (Plotly's width and offset, in milliseconds)."""
    return {"width": int(HOUR_MS * share), "offset": int(HOUR_MS * start)}


def hour_axis(hour_range: Mapping[str, Any]) -> dict[str, Any]:
    """The date axis of per-hour charts: the whole range, so that hours without data show as gaps."""
    start, end = parse_utc(hour_range["start"]), parse_utc(hour_range["end"])
    return {
        "title": {"text": "hour (UTC)"},
        "type": "date",
        "range": [iso_utc(start), iso_utc(end)],
    }


def _hour_starts(rows: list[Mapping[str, Any]]) -> list[str]:
    """The x values of per-hour series: each hour's start (UTC)."""
    return [row["start"] for row in rows]


def tickets_by_team_per_hour(
    rows: list[Mapping[str, Any]], teams: list[str], hour_range: Mapping[str, Any]
) -> Figure:
    """Enriched tickets per hour, stacked by team."""
    x = _hour_starts(rows)
    data = [
        {
            "type": "bar",
            "name": team,
            "x": x,
            "y": [row["tickets_by_team"].get(team, 0) for row in rows],
            "marker": {"color": team_colour(team, teams)},
            "hovertemplate": "%{x|%Y-%m-%d %H:%M} UTC<br>" + team + ": %{y} tickets<extra></extra>",
            **within_hour(),
        }
        for team in teams
    ]
    return {
        "data": data,
        "layout": _layout(
            "Tickets per hour, by team",
            barmode="stack",
            xaxis=hour_axis(hour_range),
            yaxis={"title": {"text": "tickets"}, "rangemode": "tozero"},
        ),
    }


def tickets_by_team(by_team: Mapping[str, Mapping[str, Any]], teams: list[str]) -> Figure:
    """Enriched tickets per team (one hour or a whole range)."""
    counts = [by_team.get(team, {}).get("tickets", 0) for team in teams]
    return {
        "data": [
            {
                "type": "bar",
                "x": teams,
                "y": counts,
                "text": counts,
                "textposition": "auto",
                "marker": {"color": [team_colour(team, teams) for team in teams]},
                "hovertemplate": "%{x}: %{y} tickets<extra></extra>",
            }
        ],
        "layout": _layout(
            "Tickets by team",
            xaxis={"title": {"text": "team"}},
            yaxis={"title": {"text": "tickets"}, "rangemode": "tozero"},
        ),
    }


def priority_mix(by_priority: Mapping[str, int]) -> Figure:
    """Tickets by priority, as a donut (share and count)."""
    priorities = list(by_priority)
    return {
        "data": [
            {
                "type": "pie",
                "hole": 0.5,
                "sort": False,
                "direction": "clockwise",
                "labels": priorities,
                "values": [by_priority[p] for p in priorities],
                "marker": {"colors": [PRIORITY_COLOURS.get(p, "#999999") for p in priorities]},
                "textinfo": "label+percent",
                "hovertemplate": "%{label}: %{value} tickets (%{percent})<extra></extra>",
            }
        ],
        "layout": _layout("Priority mix", showlegend=False),
    }


def high_share_per_hour(
    rows: list[Mapping[str, Any]], overall: float, hour_range: Mapping[str, Any]
) -> Figure:
    """Share of high and critical tickets per hour, with the range's share as a dashed line."""
    x = _hour_starts(rows)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "per hour",
                "x": x,
                "y": [row["share_high_or_critical"] for row in rows],
                "line": {"color": PRIORITY_COLOURS["critical"]},
                "xperiod": HOUR_MS,  # each point in the middle of its hour, like the bars
                "xperiodalignment": "middle",
                "hovertemplate": "%{x|%Y-%m-%d %H:%M} UTC: %{y:.1%}<extra></extra>",
            }
        ],
        "layout": _layout(
            "Share of high and critical tickets",
            xaxis=hour_axis(hour_range),
            yaxis={"title": {"text": "share of tickets"}, "tickformat": ".0%", "rangemode": "tozero"},
            shapes=[
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": overall,
                    "y1": overall,
                    "line": {"dash": "dash", "color": "#888888", "width": 1},
                }
            ],
            annotations=[
                {
                    "xref": "paper",
                    "x": 1,
                    "y": overall,
                    "xanchor": "right",
                    "yanchor": "bottom",
                    "text": f"whole range {overall:.1%}",
                    "showarrow": False,
                }
            ],
        ),
    }


def rejects_per_hour(rows: list[Mapping[str, Any]], hour_range: Mapping[str, Any]) -> Figure:
    """Rejected (quarantined) and duplicate records per hour."""
    x = _hour_starts(rows)
    series = (("rejected", REJECTED_COLOUR, 0.1), ("duplicates", DUPLICATE_COLOUR, 0.5))
    return {
        "data": [
            {
                "type": "bar",
                "name": name,
                "x": x,
                "y": [row[name] for row in rows],
                "marker": {"color": colour},
                "hovertemplate": "%{x|%Y-%m-%d %H:%M} UTC<br>" + name + ": %{y} records<extra></extra>",
                **within_hour(0.4, start),
            }
            for name, colour, start in series
        ],
        "layout": _layout(
            "Rejected and duplicate records per hour",
            barmode="group",
            xaxis=hour_axis(hour_range),
            yaxis={"title": {"text": "records"}, "rangemode": "tozero"},
        ),
    }


def top_terms(scope: str, merged: Mapping[str, Any], name: str = "word") -> Figure:
    """A scope's top words (``name`` ``word``) or phrases (``phrase``): bars at the known count,
    whiskers up to the upper bound when only a lower bound is known."""
    terms = list(reversed(merged[name + "s"]))  # the most frequent at the top
    what = "keywords" if name == "word" else "phrases"
    title = f"Top {what}, " + ("all tickets" if scope == "all" else scope.replace("_", " "))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [t[name] for t in terms],
                "x": [t["tickets_min"] for t in terms],
                "text": [t["label"] for t in terms],
                "textposition": "auto",
                "customdata": [t["tickets_max"] for t in terms],
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [t["tickets_max"] - t["tickets_min"] for t in terms],
                    "arrayminus": [0] * len(terms),
                    "color": "#888888",
                },
                "marker": {"color": "#0072B2" if name == "word" else "#009E73"},
                "hovertemplate": "%{y}: %{text} tickets (at most %{customdata})<extra></extra>",
            }
        ],
        "layout": _layout(
            title,
            height=max(260, 40 + 22 * len(terms)),
            margin={"l": 130, "r": 20, "t": 48, "b": 50},
            xaxis={"title": {"text": f"tickets mentioning the {name}"}, "rangemode": "tozero"},
            yaxis={"automargin": True},
        ),
    }


def _priority_bars(
    x: list[str], counts: Mapping[str, Mapping[str, int]], hover: str, **geometry: int
) -> list[dict[str, Any]]:
    """One bar trace per priority (``counts``: priority -> x -> tickets), in the priority's colour."""
    return [
        {
            "type": "bar",
            "name": p,
            "x": x,
            "y": [by_x.get(value, 0) for value in x],
            "marker": {"color": PRIORITY_COLOURS.get(p, "#999999")},
            "hovertemplate": hover + p + ": %{y} tickets<extra></extra>",
            **geometry,
        }
        for p, by_x in counts.items()
    ]


def sla_due_by_hour(sla: Mapping[str, Any], range_end: str | None = None) -> Figure:
    """Tickets of the range by the clock hour their SLA falls due, stacked by priority (a line
    marks the end of the range)."""
    priorities = sla["priorities"]
    hours = sorted({hour for p in priorities for hour in sla["due_by_hour"][p]})
    shapes = []
    if range_end:
        line = {"dash": "dot", "color": "#888888", "width": 1}
        shapes.append(
            {
                "type": "line",
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "x0": range_end,
                "x1": range_end,
                "line": line,
            }
        )
    return {
        "data": _priority_bars(
            hours,
            {p: sla["due_by_hour"][p] for p in priorities},
            "due %{x|%Y-%m-%d %H}:00 UTC<br>",
            **within_hour(),
        ),
        "layout": _layout(
            "SLA due times, by clock hour",
            barmode="stack",
            xaxis={"title": {"text": "hour the SLA falls due (UTC)"}, "type": "date"},
            yaxis={"title": {"text": "tickets"}, "rangemode": "tozero"},
            shapes=shapes,
        ),
    }


def type_priority(by_type: Mapping[str, Mapping[str, Any]], priorities: list[str]) -> Figure:
    """Tickets per type, stacked by priority."""
    types = list(by_type)
    counts = {p: {t: by_type[t]["by_priority"].get(p, 0) for t in types} for p in priorities}
    return {
        "data": _priority_bars(types, counts, "%{x}<br>"),
        "layout": _layout(
            "Tickets by type and priority",
            barmode="stack",
            xaxis={"title": {"text": "ticket type"}},
            yaxis={"title": {"text": "tickets"}, "rangemode": "tozero"},
        ),
    }


def reject_reasons(rejected_by_reason: Mapping[str, int]) -> Figure:
    """Rejected records by reason."""
    reasons = sorted(rejected_by_reason, key=lambda r: (rejected_by_reason[r], r))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": reasons,
                "x": [rejected_by_reason[r] for r in reasons],
                "text": [rejected_by_reason[r] for r in reasons],
                "textposition": "auto",
                "marker": {"color": REJECTED_COLOUR},
                "hovertemplate": "%{y}: %{x} records<extra></extra>",
            }
        ],
        "layout": _layout(
            "Rejected records by reason",
            height=max(220, 90 + 28 * len(reasons)),
            margin={"l": 150, "r": 20, "t": 48, "b": 50},
            xaxis={"title": {"text": "records"}, "rangemode": "tozero"},
            yaxis={"automargin": True},
        ),
    }


def with_empty_note(figure: Figure) -> Figure:
    """``figure``, with a "no data" note in the middle when it has nothing to draw."""
    if any(any(trace.get("y") or trace.get("values") or []) for trace in figure["data"]):
        return figure
    note = {"text": "no data", "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False}
    layout = {**figure["layout"], "annotations": [*figure["layout"].get("annotations", []), note]}
    return {**figure, "layout": layout}


def range_figures(insights: Mapping[str, Any]) -> dict[str, Figure]:
    """The insights page's figures, by element id."""
    rows = insights["hours"]
    teams = ordered_teams(list(insights["by_team"]))
    figures = {
        "chart-tickets-by-team": tickets_by_team_per_hour(rows, teams, insights["range"]),
        "chart-priority-mix": priority_mix(insights["by_priority"]),
        "chart-high-share": high_share_per_hour(rows, insights["share_high_or_critical"], insights["range"]),
        "chart-rejects": rejects_per_hour(rows, insights["range"]),
        "chart-sla": sla_due_by_hour(insights["sla"], insights["range"]["end"]),
    }
    figures.update(keyword_figures(insights))
    return {name: with_empty_note(figure) for name, figure in figures.items()}


def keyword_figures(insights: Mapping[str, Any]) -> dict[str, Figure]:
    """One keyword chart and one phrase chart per scope (``phrases`` absent: an older answer)."""
    figures = {
        f"chart-keywords-{scope}": top_terms(scope, merged) for scope, merged in insights["keywords"].items()
    }
    for scope, merged in insights["phrases"].items():
        figures[f"chart-phrases-{scope}"] = top_terms(scope, merged, "phrase")
    return figures


def hour_figures(insights: Mapping[str, Any]) -> dict[str, Figure]:
    """The run tab's figures (one hour), by element id."""
    teams = ordered_teams(list(insights["by_team"]))
    figures = {
        "chart-team": tickets_by_team(insights["by_team"], teams),
        "chart-priority-mix": priority_mix(insights["by_priority"]),
        "chart-type-priority": type_priority(insights["by_type"], list(insights["by_priority"])),
        "chart-reject-reasons": reject_reasons(insights["rejected_by_reason"]),
        "chart-sla": sla_due_by_hour(insights["sla"], insights["range"]["end"]),
    }
    figures.update(keyword_figures(insights))
    return {name: with_empty_note(figure) for name, figure in figures.items()}
