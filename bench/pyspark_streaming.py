"""P3's PySpark peer: the tutorial's job as a Structured Streaming query from Kafka to Kafka
(Spark's own Kafka source and sink, from_json, the filter, to_json), run to the end of what is in
the topic with trigger(availableNow=True).

    python bench/pyspark_streaming.py BROKERS IN OUT CHECKPOINT_DIR

Prints `query seconds: S` (from start() to the end, without the SparkSession's start).
Spark's Kafka connector comes from target/spark/jars (scripts/jars).
"""

import glob
import os
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql.functions import col, from_json, struct, to_json

brokers, source, sink, checkpoint = sys.argv[1:5]
jars = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "../target/spark/jars/*.jar")))
if not jars:
    sys.exit("Spark's Kafka connector is missing from target/spark/jars: run scripts/jars")

spark = SparkSession.builder\
    .appName("P3")\
    .master("local[2]")\
    .config("spark.jars", ",".join(jars))\
    .config("spark.ui.enabled", "false")\
    .config("spark.sql.shuffle.partitions", "2")\
    .getOrCreate()
spark.sparkContext.setLogLevel("WARN")

ticks = spark.readStream.format("kafka")\
    .option("kafka.bootstrap.servers", brokers)\
    .option("subscribe", source)\
    .option("startingOffsets", "earliest")\
    .load()
parsed = ticks.select(
    col("key"),
    from_json(col("value").cast("string"), "event_time string, ticker string, price double").alias("v"),
).select("key", "v.*")
kept = parsed.where("price > 50 AND ticker IN ('AAPL','MSFT')")\
    .select(col("key"), to_json(struct("event_time", "ticker", "price")).alias("value"))

started = time.monotonic()
query = kept.writeStream.format("kafka")\
    .option("kafka.bootstrap.servers", brokers)\
    .option("topic", sink)\
    .option("checkpointLocation", checkpoint)\
    .trigger(availableNow=True)\
    .start()
query.awaitTermination()
print(f"query seconds: {time.monotonic() - started:.3f}")
spark.stop()
