"""Ticket insights and the topic browser inside the Airflow UI (issue #12).

- :mod:`~ticket_airflow.ui.insights`: a range of hours and the merge of their published summaries;
- :mod:`~ticket_airflow.ui.topics`: bounded, read-only reads of the pipeline's Kafka topics;
- :mod:`~ticket_airflow.ui.runs`: the hour a DAG run processed;
- :mod:`~ticket_airflow.ui.charts`: Plotly figures of the merged figures;
- :mod:`~ticket_airflow.ui.app`: the FastAPI app (pages and JSON), every route behind Airflow's
  own security dependencies;
- :mod:`~ticket_airflow.ui.plugin`: the ``AirflowPlugin`` (``plugins/ticket_insights.py`` exposes it).

Nothing here writes to Kafka or to the artifacts.
"""
