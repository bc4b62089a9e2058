"""Training run of the CDS archive (``ticket_devstack.spark_cds``): loads the classes the
pipeline's Spark jobs use, without Kafka, so the archive holds them.

    spark-submit ... spark_cds_training.py SCRATCH_DIR

What it touches: the session, JSON and VARIANT parsing, regular expressions, arrays, timestamps,
aggregations with a shuffle, a window, a broadcast join, Parquet (zstd and lz4) written and read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F


def exercise(spark: SparkSession, scratch: Path) -> int:
    """A small pass through the job's kinds of operations; returns a row count."""
    docs = spark.range(2000).select(
        F.col("id"),
        F.to_json(
            F.struct(
                F.concat(F.lit("TCK-"), F.col("id").cast("string")).alias("ticket_id"),
                F.lit("Panne réseau, accès refusé").alias("subject"),
                F.lit("2026-11-28T04:10:00.123Z").alias("created_at"),
                (F.col("id") % 4).alias("priority"),
            )
        ).alias("value"),
    )
    parsed = docs.select(
        "id",
        F.schema_of_variant(F.try_parse_json("value")).alias("shape"),
        F.try_variant_get(F.try_parse_json("value"), "$.subject", "string").alias("subject"),
        F.from_json("value", "ticket_id string, subject string, created_at string, priority bigint").alias(
            "t"
        ),
    ).select(
        "id",
        "shape",
        F.array_distinct(F.regexp_extract_all(F.lower("subject"), F.lit(r"\p{L}{2,}"), 0)).alias("words"),
        F.to_timestamp("t.created_at", "yyyy-MM-dd'T'HH:mm:ss.SSSX").alias("created_ts"),
        F.col("t.priority").alias("priority"),
    )
    ranked = parsed.withColumn("n", F.row_number().over(Window.partitionBy("priority").orderBy("id")))
    small = spark.createDataFrame([(0, "low"), (1, "medium")], "priority bigint, name string")
    joined = ranked.join(F.broadcast(small), "priority", "left").withColumn("word", F.explode("words"))
    joined.write.mode("overwrite").option("compression", "zstd").parquet(str(scratch / "a"))
    ranked.write.mode("overwrite").option("compression", "lz4_raw").parquet(str(scratch / "b"))
    counts = spark.read.parquet(str(scratch / "a")).groupBy("word").count()
    return counts.count() + spark.read.parquet(str(scratch / "b")).count()


def main() -> int:
    spark = SparkSession.builder.appName("spark_cds_training").getOrCreate()
    try:
        print(f"spark-cds training: {exercise(spark, Path(sys.argv[1]))} rows")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
