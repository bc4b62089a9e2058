"""Support-ticket ETL: configuration, ticket schema, generator, producer, Kafka helpers."""
