"""Test job: copy a topic to another through Spark's Kafka connector, upper-casing values."""

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(bootstrap: str, source: str, target: str) -> None:
    spark = SparkSession.builder.appName("platform-copy-test").getOrCreate()
    records = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", source)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .option("includeHeaders", "true")
        .load()
    )
    (
        records.select("key", F.upper(F.col("value").cast("string")).alias("value"), "headers")
        .write.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("topic", target)
        .save()
    )
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:4])
