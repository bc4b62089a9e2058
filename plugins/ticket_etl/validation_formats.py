"""Formats shared by the Spark validation and enrichment (one definition)."""

# Spark datetime pattern of the schema's created_at (UTC, milliseconds, 'Z').
CREATED_AT_SPARK_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"
