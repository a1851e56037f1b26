"""Spark's answers for the windowed-aggregation tests (tests/sluice/windows.rs).

Writes input.jsonl, a stream of stock ticks with out-of-order and late
records (seeded, so it is the same every time), then runs the tutorial's
windowed query on it with PySpark Structured Streaming, one micro-batch per
BATCH lines (a file source with maxFilesPerTrigger=1, each line parsed with
from_json as the tutorial parses Kafka values), in each CASE's output mode,
and writes cases.json (each case as window_agg's config) and
expected-<name>.txt: printSchema, then every micro-batch as
Spark's console sink prints it, its rows sorted by window and group (Spark's
own order within a batch is its hash partitioning's).

    python -m pip install pyspark==4.3.0   # needs a Java runtime
    python tests/windows/spark_reference.py
"""

import io
import json
import os
import pathlib
import random
import shutil
import sys
import tempfile
from contextlib import redirect_stdout
from datetime import datetime, timedelta

from pyspark.sql import SparkSession
from pyspark.sql.functions import avg, col, count, expr, from_json, max, min, sum, window

HERE = pathlib.Path(__file__).parent
SCHEMA = "event_time timestamp, ticker string, price double"
BATCH = 10
START = datetime(2026, 11, 25, 12, 0, 0)

# name: (output mode, window, slide, watermark, aggregates as window_agg's `agg`)
CASES = {
    "append": ("append", "1 minute", None, "10 seconds", "avg(price),count(*)"),
    "update": ("update", "1 minute", "30 seconds", "10 seconds", "avg(price),count(*),min(price),max(price),sum(price)"),
    "complete": ("complete", "1 minute", None, "10 seconds", "avg(price),count(*)"),
}


def ticks():
    """80 ticks: mostly in order (about 5 s apart), some up to 15 s out of
    order, a few more than a minute late, one null time and one null price."""
    rng = random.Random(13)
    now = START
    lines = []
    for i in range(80):
        now += timedelta(seconds=rng.randint(1, 9), microseconds=rng.choice([0, 0, 250000]))
        t = now
        if i % 9 == 4:
            t = now - timedelta(seconds=rng.randint(3, 15))  # out of order
        if i % 23 == 11:
            t = now - timedelta(seconds=rng.randint(70, 100))  # late
        tick = {
            "event_time": t.isoformat(),
            "ticker": rng.choice(["AAPL", "AMZN", "GOOGL", "MSFT"]),
            "price": round(rng.uniform(100, 300), 2),
        }
        if i == 30:
            tick["event_time"] = None
        if i == 47:
            tick["price"] = None
        lines.append(json.dumps(tick))
    return lines


def run(spark, lines, mode, length, slide, delay, aggs):
    src = pathlib.Path(tempfile.mkdtemp(prefix="sluice-windows-"))
    for n, i in enumerate(range(0, len(lines), BATCH)):
        path = src / f"part-{n:04d}.json"
        path.write_text("\n".join(lines[i : i + BATCH]) + "\n")
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
    ticks = (
        spark.readStream.option("maxFilesPerTrigger", 1)
        .text(str(src))
        .select(from_json(col("value"), SCHEMA).alias("data"))
        .select("data.*")
    )
    win = window("event_time", length, slide) if slide else window("event_time", length)
    columns = [expr(a.replace("count(*)", "count(1)")) for a in aggs.split(",")]
    agg = ticks.withWatermark("event_time", delay).groupBy(win, "ticker").agg(*columns)
    out = io.StringIO()
    with redirect_stdout(out):
        agg.printSchema()
    batches = []

    def each(df, batch_id):
        # As the console sink prints it: println(showString(...)) (Spark 4 ends
        # `only showing top 20 rows` without a newline of its own, so no blank line follows).
        text = df.orderBy("window", "ticker")._jdf.showString(20, 20, False)
        batches.append(
            "-------------------------------------------\n"
            f"Batch: {batch_id}\n"
            "-------------------------------------------\n" + text + "\n"
        )

    query = agg.writeStream.outputMode(mode).foreachBatch(each).trigger(availableNow=True).start()
    query.awaitTermination()
    shutil.rmtree(src)
    return out.getvalue() + "".join(batches)


def main():
    lines = ticks()
    (HERE / "input.jsonl").write_text("\n".join(lines) + "\n")
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    cases = {}
    for name, case in CASES.items():
        mode, length, slide, delay, aggs = case
        cases[name] = {
            "batch": BATCH,
            "config": {
                "output_mode": mode,
                "window": length,
                "slide": slide or length,
                "watermark": delay,
                "agg": aggs,
                "group_by": "ticker",
            },
        }
        text = run(spark, lines, *case)
        (HERE / f"expected-{name}.txt").write_text(text)
        print(f"{name}: {text.count('Batch:')} batches", file=sys.stderr)
    (HERE / "cases.json").write_text(json.dumps(cases, indent=2) + "\n")
    spark.stop()


if __name__ == "__main__":
    main()
