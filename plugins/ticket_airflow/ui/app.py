"""The FastAPI app of the plugin: server-rendered pages (Jinja2) and their JSON twins.

Security: the app has Airflow's own security dependencies on every route (a FastAPI app mounted by
a plugin gets none by itself): the caller must be a logged-in Airflow user (a JWT as
``Authorization: Bearer`` or the UI's ``_token`` cookie, which the same-origin iframe sends) allowed
to view plugins and to read the ``ticket_pipeline`` DAG. No credentials: 401; a bad token or a user
without that access: 403. The OpenAPI schema and docs pages are off (they would bypass the
dependencies). Every route is a GET; nothing writes to Kafka or the artifacts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute

from ticket_airflow.ui import charts, filters, insights, pages, runs, schemas, topics
from ticket_etl import keywords

APP_PREFIX = "/ticket-insights"
HERE = Path(__file__).resolve().parent
STATIC = {
    "ui.css": "text/css",
    "ui.js": "text/javascript",
    "icon.svg": "image/svg+xml",
    "icon-dark.svg": "image/svg+xml",
}
CACHE_STATIC = "private, max-age=86400"


def security_dependencies() -> list[Any]:
    """Airflow's dependencies: plugin views allowed, and read access to the ``ticket_pipeline`` DAG."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import requires_access_dag, requires_access_view

    return [
        Depends(requires_access_view(AccessView.PLUGINS)),
        Depends(requires_access_dag("GET", param_dag_id=runs.DAG_ID)),
    ]


@cache
def plotly_bundle() -> tuple[Path, str]:
    """The ``plotly.min.js`` shipped in the installed ``plotly`` wheel, and the package version."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js", plotly.__version__


@cache
def _templates() -> Any:
    """The Jinja2 templates with the filters and globals the pages use (built once)."""
    from fastapi.templating import Jinja2Templates

    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["number"] = lambda value: (
        f"{value:,}".replace(",", "\u202f") if isinstance(value, int) else value
    )
    templates.env.filters["percent"] = lambda value: f"{value:.1%}"
    templates.env.filters["decimal"] = decimal_text
    templates.env.filters["lift"] = lift_text
    templates.env.filters["compact_json"] = lambda value: json.dumps(
        value, ensure_ascii=False, sort_keys=True
    )
    templates.env.globals.update(
        team_colour=charts.team_colour,
        priority_colour=lambda priority: charts.PRIORITY_COLOURS.get(priority, "#999999"),
        retention=retention_text,
        scan_limit=topics.LOOKUP_SCAN_LIMIT,
        filter_scan=topics.FILTER_SCAN,
        alert_rule=ALERT_RULE,
        listed_rule=LISTED_RULE,
    )
    return templates


ALERT_RULE = (
    f"score at least {keywords.ALERT_MIN_SCORE:g}, at least {keywords.ALERT_MIN_TICKETS} tickets, "
    f"lift at least ×{keywords.ALERT_MIN_LIFT:g}, against a baseline of at least "
    f"{keywords.ALERT_MIN_BASELINE_HOURS} published hours"
)
LISTED_RULE = (
    f"at least {keywords.MIN_TICKETS} tickets and {keywords.MIN_SHARE:.0%} of them, more than expected, "
    f"score at least {keywords.MIN_SCORE:g} (less is within chance)"
)


def decimal_text(value: Any) -> str:
    """A figure such as an expected count or a score: one decimal, thin spaces between thousands."""
    return f"{value:,.1f}".replace(",", "\u202f") if isinstance(value, int | float) else "?"


def lift_text(value: Any) -> str:
    """A lift as a factor: ``×4.5`` below 10, ``×12`` from 10 on."""
    if not isinstance(value, int | float):
        return "?"
    return f"×{value:,.0f}".replace(",", "\u202f") if value >= 10 else f"×{value:.1f}"


def retention_text(key: str, value: str | None) -> str:
    """A topic setting for reading: ``retention.ms`` 2592000000 is ``30 days``, -1 is ``unlimited``."""
    if value is None or not value.lstrip("-").isdigit():
        return value or ""
    number = int(value)
    if number < 0:
        return "unlimited"
    if key.endswith(".ms"):
        for unit, size in (("days", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)):
            if number >= size and number % size == 0:
                return f"{number // size} {unit}"
        return f"{number} ms"
    if key.endswith(".bytes"):
        for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
            if number >= size and number % size == 0:
                return f"{number // size} {unit}"
        return f"{number} bytes"
    return value


def figures_json(figures: dict[str, Any]) -> str:
    """Figures as JSON that is safe inside a ``<script>`` element."""
    return json.dumps(figures, ensure_ascii=False).replace("</", "<\\/")


def _airflow_root(request: Request) -> str:
    """Airflow's own root path (the app is mounted under it at :data:`APP_PREFIX`)."""
    return request.scope.get("root_path", "").removesuffix(APP_PREFIX)


def run_link(request: Request, run_id: str, tab: bool = False) -> str:
    """The Airflow UI page of a ``ticket_pipeline`` run (``tab``: its Ticket insights tab)."""
    page = f"{_airflow_root(request)}/dags/{runs.DAG_ID}/runs/{quote(run_id, safe='')}"
    return page + ("/plugin/ticket-insights-run" if tab else "")


ANSWERED: dict[type[Exception], int] = {
    pages.NotFound: 404,
    pages.BadRequest: 400,
    topics.TopicError: 503,  # Kafka or the connection could not answer
}

router = APIRouter()


def create_app() -> FastAPI:
    """The plugin's app: mounted by Airflow's API server at :data:`APP_PREFIX`."""
    app = FastAPI(
        title="Ticket insights",
        dependencies=security_dependencies(),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_exception_handler(HTTPException, refused)
    for error in ANSWERED:
        app.add_exception_handler(error, answered)
    app.include_router(router)  # its routes get the app's dependencies
    return app


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Template ``name`` with ``context`` and the helpers every page uses."""
    context.update(
        path=lambda route, **params: _path(request, route, **params),
        run_link=lambda run_id, tab=False: run_link(request, run_id, tab),
        plotly_version=plotly_bundle()[1],
    )
    return _templates().TemplateResponse(request, name, context, status_code=status_code)


def refused(request: Request, error: HTTPException) -> Response:
    """401/403 as a short page for a browser (with a login link), as JSON for anyone else."""
    if "text/html" in request.headers.get("accept", "") and error.status_code in (401, 403):
        login = f"{_airflow_root(request)}/auth/login?next={quote(str(request.url.path))}"
        return render(request, "refused.html", error.status_code, status=error.status_code, login=login)
    return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)


def answered(request: Request, error: Exception) -> Response:
    """An :data:`ANSWERED` error: ``{"detail": ...}`` from a JSON route, else the error page."""
    status = next(code for kind, code in ANSWERED.items() if isinstance(error, kind))
    if _json_route(request):
        return JSONResponse({"detail": str(error)}, status_code=status)
    return render(request, "error.html", status, message=str(error))


def _json_route(request: Request) -> bool:
    """Whether the request went to a JSON route: those under ``/api/`` (paths relative to the app)."""
    route = request.scope.get("route")
    return isinstance(route, APIRoute) and route.path.startswith("/api/")


@router.get("/", response_class=HTMLResponse, name="insights_page")
def insights_page(
    request: Request, start: str | None = None, end: str | None = None, preset: str | None = None
) -> HTMLResponse:
    """The insights of a range of hours, with charts; a bad range is said on this page (400)."""
    try:
        merged = pages.range_insights(start, end, preset)
    except pages.BadRequest as error:
        return render(
            request,
            "insights.html",
            400,
            data=None,
            preset=preset,
            error=str(error),
            start=start,
            end=end,
            figures="{}",
        )
    chosen = None if (start or end) else (preset or insights.DEFAULT_PRESET)
    figures = figures_json(charts.range_figures(merged))
    return render(request, "insights.html", data=merged, preset=chosen, figures=figures)


@router.get("/api/insights", name="insights_json")
def insights_json(
    start: str | None = None, end: str | None = None, preset: str | None = None
) -> JSONResponse:
    """The insights of a range of hours, as JSON."""
    return JSONResponse(pages.range_insights(start, end, preset))


@router.get("/run", response_class=HTMLResponse, name="run_page")
def run_page(request: Request, run_id: str, dag_id: str = runs.DAG_ID) -> HTMLResponse:
    """A DAG run's tab: the hour the run processed."""
    if dag_id != runs.DAG_ID:
        return render(request, "other_dag.html", dag_id=dag_id)
    view = pages.run_view(run_id)
    figures = figures_json(charts.hour_figures(view.insights) if view.insights else {})
    return render(
        request, "run.html", view=view.as_dict(), figures=figures, max_range_hours=insights.MAX_RANGE_HOURS
    )


@router.get("/api/run", name="run_json")
def run_json(run_id: str) -> JSONResponse:
    """A ``ticket_pipeline`` run's hour and its published summary, as JSON."""
    return JSONResponse(pages.run_view(run_id).as_dict())


@router.get("/topics", response_class=HTMLResponse, name="topics_page")
def topics_page(request: Request) -> HTMLResponse:
    """The project's topics: partitions, offsets, record counts, retention, consumer groups' lag."""
    overview = [t.as_dict() for t in pages.reader().overview()]
    return render(request, "topics.html", topics=overview, lags=pages.group_lags())


@router.get("/api/topics", name="topics_json")
def topics_json() -> JSONResponse:
    return JSONResponse({"topics": [t.as_dict() for t in pages.reader().overview()]})


@dataclass(frozen=True)
class ViewParams:
    """The records view's filter and read-position parameters, as sent (parsed by
    :func:`pages.record_query`; empty values, as a form sends them, are unset)."""

    key: str | None = None
    header: list[str] | None = None
    field: list[str] | None = None
    start: str | None = None
    end: str | None = None
    seek: str | None = None
    scan: str | None = None

    def query(self) -> filters.RecordQuery:
        scan = (self.scan or "").strip()
        if scan and not scan.isdigit():
            raise pages.BadRequest(f"scan={scan!r}: a number of records per partition")
        return pages.record_query(
            self.key, self.header, self.field, self.start, self.end, self.seek, int(scan) if scan else None
        )

    def form(self) -> dict[str, Any]:
        """The values to put back in the page's form."""
        return {**asdict(self), "header": (self.header or [""])[0], "field": (self.field or [""])[0]}


def view_params(
    key: str | None = None,
    header: Annotated[list[str] | None, Query()] = None,
    field: Annotated[list[str] | None, Query()] = None,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    seek: str | None = None,
    scan: str | None = None,
) -> ViewParams:
    return ViewParams(key, header, field, start, end, seek, scan)


View = Annotated[ViewParams, Depends(view_params)]


@router.get("/topics/{topic}", response_class=HTMLResponse, name="records_page")
def records_page(
    request: Request, topic: str, params: View, limit: int | None = None, partition: int | None = None
) -> HTMLResponse:
    """Records of a topic or partition (the latest, or filtered, or read from a seek position), and
    the consumer groups that committed offsets on it, with their lag."""
    context = {
        "limit": topics.DEFAULT_RECORDS if limit is None else limit,
        "partition": partition,
        "max_records": topics.MAX_RECORDS,
        "form": params.form(),
        "query_string": request.url.query,
    }
    try:
        query = params.query()
    except pages.BadRequest as error:
        pages.known_topic(topic)  # an unknown topic is still a 404
        return render(request, "records.html", 400, page=None, groups=[], error=str(error), **context)
    result = pages.record_page(topic, limit, partition, query)
    view = pages.record_view(result)
    groups = pages.consumer_groups(topic)
    return render(request, "records.html", page=view, groups=groups, error=None, **context)


@router.get("/api/topics/{topic}", name="records_json")
def records_json(
    topic: str, params: View, limit: int | None = None, partition: int | None = None
) -> JSONResponse:
    return JSONResponse(pages.record_view(pages.record_page(topic, limit, partition, params.query())))


@router.get("/api/topics/{topic}/export", name="records_export")
def records_export(
    topic: str, params: View, limit: int | None = None, partition: int | None = None
) -> Response:
    """What the records view shows, with the same filters and bounds, as a JSON Lines download;
    the headers ``X-Records-Scanned``, ``-Matched``, ``-Exported`` and ``X-Scan-Complete`` say what
    the read covered."""
    result = pages.record_page(topic, limit, partition, params.query())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        pages.export_lines(result),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="{topic}-{stamp}.jsonl"',
            "X-Records-Scanned": str(result.scanned),
            "X-Records-Matched": str(result.matched),
            "X-Records-Exported": str(len(result.records)),
            "X-Scan-Complete": "true" if result.complete else "false",
        },
    )


@router.get("/api/topics/{topic}/groups", name="groups_json")
def groups_json(topic: str) -> JSONResponse:
    """The consumer groups that committed offsets on ``topic``: members, committed and end offsets,
    lag per partition and in total."""
    return JSONResponse({"topic": topic, "groups": pages.consumer_groups(topic)})


@router.get("/schemas", response_class=HTMLResponse, name="schemas_page")
def schemas_page(request: Request) -> HTMLResponse:
    """The schema registry's subjects, their versions and compatibility rules."""
    overview = pages.registry_overview()
    return render(request, "schemas.html", 503 if overview["problem"] else 200, registry=overview)


@router.get("/api/schemas", name="schemas_json")
def schemas_json() -> JSONResponse:
    overview = pages.registry_overview()
    return JSONResponse(overview, status_code=503 if overview["problem"] else 200)


@router.get("/lookup", response_class=HTMLResponse, name="lookup_page")
def lookup_page(request: Request, ticket_id: str | None = None, since: str | None = None) -> HTMLResponse:
    """Where a ticket went: source, team topics, dead-letter topic (an empty form without ``ticket_id``)."""
    result = pages.lookup(ticket_id, since).as_dict() if ticket_id else None
    if result is not None:
        schemas.annotate(result["records"])
    return render(request, "lookup.html", result=result, ticket_id=ticket_id or "", since=since or "")


@router.get("/api/lookup", name="lookup_json")
def lookup_json(ticket_id: str, since: str | None = None) -> JSONResponse:
    return JSONResponse(pages.lookup(ticket_id, since).as_dict())


@router.get("/previews", response_class=HTMLResponse, name="previews_page")
def previews_page(request: Request, preview_id: str | None = None) -> HTMLResponse:
    """The rules previews, and one of them (the newest without ``preview_id``)."""
    previews = pages.rules_previews()
    shown = pages.rules_preview(preview_id) if preview_id else next(iter(previews), None)
    return render(request, "previews.html", previews=previews, report=shown)


@router.get("/api/previews", name="previews_json")
def previews_json(preview_id: str | None = None) -> JSONResponse:
    return JSONResponse(pages.rules_preview(preview_id) if preview_id else pages.rules_previews())


@router.get("/static/plotly.min.js", name="plotly_js")
def plotly_js() -> FileResponse:
    """Plotly's JavaScript bundle, from the installed ``plotly`` package."""
    return FileResponse(
        plotly_bundle()[0], media_type="text/javascript", headers={"Cache-Control": CACHE_STATIC}
    )


@router.get("/static/{name}", name="static")
def static(name: str) -> Response:
    if name not in STATIC:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return FileResponse(
        HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": CACHE_STATIC}
    )


def _path(request: Request, route: str, **params: Any) -> str:
    """The path of one of the app's routes, with query parameters (None values left out)."""
    path_params = {k: v for k, v in params.items() if k in ("topic", "name")}
    query = {k: v for k, v in params.items() if k not in path_params and v is not None}
    url = request.url_for(route, **path_params).path
    if query:
        from urllib.parse import urlencode

        url += "?" + urlencode(query)
    return url
