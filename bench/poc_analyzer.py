"""Baseline (a) of the Spark benchmark: the analyzer written the proof-of-concept's way.

    spark-submit ... bench/poc_analyzer.py --bootstrap-servers B --topic T --output DIR

Faithful to the proof of concept, on purpose: every count and every write starts with a
fresh read of the *whole* topic (``startingOffsets=earliest``, no interval, no cache, no
persist), the JSON is parsed with ``from_json`` and nothing is validated or quarantined,
the team is a ``when()`` chain on the type, the words come from a naive ASCII split, and
each team topic is written by its own filtered write. Do not use it for anything but
measuring what the real job (``spark_jobs/analyze_tickets.py``) saves.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ticket_etl import schema, topology

TEAM_BY_TYPE = {"incident": "incident", "question": "support_general", "feature_request": "produit"}
DEFAULT_TEAM = "support_general"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: broker, source topic, output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--output", type=Path, required=True)
    return parser.parse_args(argv)


def read_tickets(spark, bootstrap: str, topic: str):  # (SparkSession, str, str) -> DataFrame
    """A fresh read of the whole topic, parsed (the PoC called this before every step)."""
    from pyspark.sql import functions as F

    raw = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .load()
    )
    parsed = raw.select(F.from_json(F.col("value").cast("string"), schema.spark_schema()).alias("t"))
    return parsed.select("t.*")


def with_team(tickets):  # DataFrame -> DataFrame
    """The PoC's routing: a ``when()`` chain on the type with an ``otherwise`` catch-all."""
    from pyspark.sql import functions as F

    team = F.when(F.col("type") == "incident", TEAM_BY_TYPE["incident"])
    team = team.when(F.col("type") == "question", TEAM_BY_TYPE["question"])
    team = team.when(F.col("type") == "feature_request", TEAM_BY_TYPE["feature_request"])
    return tickets.withColumn("support_team", team.otherwise(DEFAULT_TEAM))


def counts(spark, bootstrap: str, topic: str) -> dict:  # SparkSession first
    """Total and per type, priority and team: one read each."""
    total = read_tickets(spark, bootstrap, topic).count()
    by_type = read_tickets(spark, bootstrap, topic).groupBy("type").count().collect()
    by_priority = read_tickets(spark, bootstrap, topic).groupBy("priority").count().collect()
    by_team = with_team(read_tickets(spark, bootstrap, topic)).groupBy("support_team").count().collect()
    return {
        "total": total,
        "by_type": {row["type"]: row["count"] for row in by_type},
        "by_priority": {row["priority"]: row["count"] for row in by_priority},
        "by_team": {row["support_team"]: row["count"] for row in by_team},
    }


def write_datasets(spark, bootstrap: str, topic: str, output: Path) -> None:
    """Enriched tickets, statistics and word frequencies, each from a fresh read."""
    from pyspark.sql import functions as F

    enriched = with_team(read_tickets(spark, bootstrap, topic)).withColumn(
        "is_urgent", F.col("priority").isin("high", "critical")
    )
    enriched.write.mode("overwrite").parquet(str(output / "tickets_enriched"))
    stats = (
        with_team(read_tickets(spark, bootstrap, topic))
        .groupBy("type", "priority", "support_team")
        .agg(F.count("*").alias("tickets"))
    )
    stats.write.mode("overwrite").json(str(output / "stats"))
    text = F.lower(F.concat_ws(" ", "subject", "description"))
    words = (
        read_tickets(spark, bootstrap, topic)
        .select(F.explode(F.split(text, "[^a-z0-9]+")).alias("word"))
        .where(F.length("word") > 2)
        .groupBy("word")
        .count()
        .orderBy(F.desc("count"))
        .limit(50)
    )
    words.write.mode("overwrite").json(str(output / "word_frequency"))


def write_team_topics(spark, bootstrap: str, topic: str) -> None:
    """One filtered read-and-write per team topic."""
    from pyspark.sql import functions as F

    for team, team_topic in topology.TEAMS.items():
        tickets = with_team(read_tickets(spark, bootstrap, topic)).where(F.col("support_team") == team)
        (
            tickets.select(
                F.col("ticket_id").alias("key"), F.to_json(F.struct(*tickets.columns)).alias("value")
            )
            .write.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("topic", team_topic)
            .save()
        )


def main(argv: list[str] | None = None) -> int:
    """Run every step of the PoC and print its counts as JSON."""
    args = parse_args(argv)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("poc_analyzer").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        result = counts(spark, args.bootstrap_servers, args.topic)
        write_datasets(spark, args.bootstrap_servers, args.topic, args.output)
        write_team_topics(spark, args.bootstrap_servers, args.topic)
    finally:
        spark.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
