"""Ticket insights and the topic browser in the Airflow UI: the module Airflow's plugin manager
imports. The implementation is the installed package ``ticket_airflow.ui``."""

from ticket_airflow.ui.plugin import TicketInsightsPlugin

__all__ = ["TicketInsightsPlugin"]
