"""P2's PySpark side: the tutorial's parse (`from_json` + `select("value.*")`) over a file of
JSON values, as a batch job into the `noop` sink and as a streaming query (file source ->
console sink, the tutorial's path), in local[2].

Usage: python pyspark_p2.py RECORDS.jsonl RUNS RESULT.json
Writes {"batch": [records/s per run], "streaming": [...], "session_s": seconds} to RESULT.json;
the console sink's tables go to stdout, Spark's log to stderr.
"""

import json
import os
import shutil
import sys
import tempfile
import time

from pyspark.sql import SparkSession
from pyspark.sql.functions import col, from_json

SCHEMA = "event_time string, ticker string, price double"


def main():
    path, runs, result_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, "rb") as f:
        records = sum(1 for _ in f)

    started = time.monotonic()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("sluice-bench-p2")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session_s = time.monotonic() - started
    spark.sparkContext.setLogLevel("ERROR")

    def parsed(df):
        return df.select(from_json(col("value"), SCHEMA).alias("value")).select("value.*")

    batch = []
    # One warm-up run (JIT, file listing), then the measured ones.
    for i in range(runs + 1):
        t = time.monotonic()
        parsed(spark.read.text(path)).write.format("noop").mode("overwrite").save()
        if i > 0:
            batch.append(records / (time.monotonic() - t))

    # The streaming path: the same file, split in ten, read as a stream and printed by the
    # console sink (20 rows per micro-batch, as in the tutorial), until all is processed.
    streaming = []
    with open(path, "rb") as f:
        lines = f.readlines()
    for i in range(runs + 1):
        source = tempfile.mkdtemp(prefix="sluice-bench-stream-")
        checkpoint = tempfile.mkdtemp(prefix="sluice-bench-ckpt-")
        step = (len(lines) + 9) // 10
        for part in range(10):
            with open(os.path.join(source, f"part-{part:02}.json"), "wb") as f:
                f.writelines(lines[part * step : (part + 1) * step])
        t = time.monotonic()
        query = (
            parsed(spark.readStream.schema("value string").text(source))
            .writeStream.format("console")
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()
        if i > 0:
            streaming.append(records / (time.monotonic() - t))
        shutil.rmtree(source)
        shutil.rmtree(checkpoint)

    spark.stop()
    with open(result_path, "w") as f:
        json.dump({"batch": batch, "streaming": streaming, "session_s": session_s}, f)


if __name__ == "__main__":
    main()
