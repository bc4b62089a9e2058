"""The ``AirflowPlugin`` of the ticket insights: the app, a top-level navigation entry, a tab on
DAG runs and an entry in the Browse menu (the pages are shown inside the UI, in an iframe)."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from ticket_airflow.ui.app import APP_PREFIX, create_app

INSIGHTS_ROUTE = "ticket-insights"
RUN_TAB_ROUTE = "ticket-insights-run"
TOPICS_ROUTE = "ticket-topics"
PREVIEWS_ROUTE = "ticket-rules-previews"
SCHEMAS_ROUTE = "ticket-schemas"
ICON = f"{APP_PREFIX}/static/icon.svg"
ICON_DARK = f"{APP_PREFIX}/static/icon-dark.svg"


class TicketInsightsPlugin(AirflowPlugin):
    """Ticket insights and the topic browser (issue #12)."""

    name = "ticket_insights"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": create_app(), "url_prefix": APP_PREFIX, "name": "Ticket insights"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Ticket insights",
            "href": f"{APP_PREFIX}/",
            "url_route": INSIGHTS_ROUTE,
            "nav_top_level": True,
            "icon": ICON,
            "icon_dark_mode": ICON_DARK,
        },
        {
            # A tab on every DAG's runs (Airflow 3.3 cannot limit it to one DAG): the page says so
            # for runs of other DAGs.
            "name": "Ticket insights",
            "href": f"{APP_PREFIX}/run?dag_id={{DAG_ID}}&run_id={{RUN_ID}}",
            "url_route": RUN_TAB_ROUTE,
            "destination": "dag_run",
            "icon": ICON,
            "icon_dark_mode": ICON_DARK,
        },
        {
            "name": "Ticket topics",
            "href": f"{APP_PREFIX}/topics",
            "url_route": TOPICS_ROUTE,
            "category": "browse",
        },
        {
            "name": "Ticket schemas",
            "href": f"{APP_PREFIX}/schemas",
            "url_route": SCHEMAS_ROUTE,
            "category": "browse",
        },
        {
            "name": "Rules previews",
            "href": f"{APP_PREFIX}/previews",
            "url_route": PREVIEWS_ROUTE,
            "category": "browse",
        },
    ]
