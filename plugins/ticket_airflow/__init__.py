"""What Airflow runs and loads: the ``ticket_pipeline`` tasks' logic, hooks, the UI plugin.

Airflow's plugin manager imports every ``.py`` file of the plugins folder as a top-level module,
so this package is listed in ``plugins/.airflowignore``; it is imported by its name instead (the
project is installed, see README, Architecture).
"""
