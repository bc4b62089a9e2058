"""Local platform: JVM dependencies, the Kafka broker and Airflow, for development and tests."""
