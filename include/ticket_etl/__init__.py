"""Support-ticket ETL: settings, topology, ticket schema, rules, the hour, artifacts, the job contract, Kafka helpers."""
