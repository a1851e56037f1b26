"""P11's PySpark side: the windowed query (`groupBy(window(event_time, "1 minute"), ticker)
.agg(avg(price), count("*"))` after the tutorial's `from_json`, event_time as a timestamp)
over a file of JSON values, as a batch job into the `noop` sink, in local[2] and local[1].

Usage: python pyspark_windows.py RECORDS.jsonl RUNS RESULT.json
Writes {"local[2]": [records/s per run], "local[1]": [...], "windows": N} to RESULT.json.
"""

import json
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql.functions import avg, col, count, from_json, window

SCHEMA = "event_time timestamp, ticker string, price double"


def main():
    path, runs, result_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, "rb") as f:
        records = sum(1 for _ in f)
    result = {}
    for master in ["local[2]", "local[1]"]:
        spark = (
            SparkSession.builder.master(master)
            .appName("sluice-bench-p11")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", master[6])
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")

        def query():
            ticks = spark.read.text(path).select(from_json(col("value"), SCHEMA).alias("v")).select("v.*")
            return ticks.groupBy(window("event_time", "1 minute"), "ticker").agg(avg("price"), count("*"))

        rates = []
        # One warm-up run (JIT, file listing), then the measured ones.
        for i in range(runs + 1):
            t = time.monotonic()
            query().write.format("noop").mode("overwrite").save()
            if i > 0:
                rates.append(records / (time.monotonic() - t))
        result[master] = rates
        result["windows"] = query().count()
        spark.stop()
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
