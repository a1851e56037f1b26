"""Spark's answers for the SQL expression tests (tests/sluice/sql.rs).

Runs every predicate and select list of CASES on corpus.jsonl with PySpark,
reading the corpus as the tutorial's job does (from_json with SCHEMA), and
writes expected.json: the ids each predicate keeps, the `show()` table of
each select list, or the error class Spark stops with (ANSI mode).

    python -m pip install pyspark==4.3.0   # needs a Java runtime
    python tests/sql/spark_reference.py    # rewrites tests/sql/expected.json
"""

import json
import pathlib

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession
from pyspark.sql.functions import col, from_json

HERE = pathlib.Path(__file__).parent
SCHEMA = "id int, ticker string, price double, qty int, flag boolean, event_time string"
# The same records with event_time read as a timestamp (from_json's rules).
SCHEMA_TS = "id int, ticker string, price double, qty int, flag boolean, event_time timestamp"

# (predicate, ansi)
FILTERS = [
    ("price > 50", True),
    ("price BETWEEN 10 AND 50 OR ticker LIKE 'A%'", True),
    ("NOT price BETWEEN 1 AND 100", True),
    ("ticker LIKE '%\\\\_%'", True),
    ("ticker NOT LIKE '%a%'", True),
    ("ticker ILIKE 'a%'", True),
    ("ticker RLIKE '^[A-Z]{4}$'", True),
    ("ticker IN ('AAPL', 'MSFT', NULL)", True),
    ("ticker NOT IN ('AAPL', NULL)", True),
    ("price IS NULL OR ticker IS NULL", True),
    ("price = 0", True),
    ("price > 1e300", True),
    ("price < 0", True),
    ("price <=> NULL", True),
    ("NOT (price <=> 60)", True),
    ("price != 60 AND price <> 40.5", True),
    ("qty * 2 > 10", True),
    ("qty / 4 > 1", True),
    ("qty % 4 = 1", True),
    ("abs(price) >= 100", True),
    ("length(ticker) > 4", True),
    ("upper(ticker) = 'AMZN'", True),
    ("flag", True),
    ("NOT flag", True),
    ("flag AND price > 50", True),
    ("flag OR price > 50", True),
    ("CASE WHEN price > 50 THEN true ELSE flag END", True),
    ("coalesce(price, 0) < 1", True),
    ("CAST(price AS INT) = 2", False),
    ("round(price, 2) = 1.01", True),
    ("floor(price) = 2 OR ceil(price) = -2", False),
    ("substring(ticker, 2, 2) = 'AP'", True),
    ("concat(ticker, '!') = 'GOOG!'", True),
    ("price + qty > 100", True),
    ("(price - 1) * 2 >= 119", True),
    ("to_timestamp(event_time) > '2026-11-25 12:00:00'", False),
    ("date_format(to_timestamp(event_time), 'yyyy-MM') = '2026-11'", False),
    ("qty + 2147483647 > 0", True),
    ("qty + 2147483647 > 0", False),
    ("price / 0 > 1", True),
    ("price / 0 > 1", False),
    ("CAST(ticker AS INT) > 0", True),
    ("CAST(ticker AS INT) > 0", False),
]

# (select list, ansi)
SELECTS = [
    (["id", "ticker", "round(price * 0.92, 2) AS price_eur", "price * 2"], True),
    (["id", "qty + 1", "qty - 1", "qty * 3", "qty / 2", "qty % 4", "-qty"], False),
    (["id", "qty + 1"], True),
    (["id", "price + qty", "price / qty", "price % 3"], False),
    (["id", "price / qty"], True),
    (["id", "abs(price)", "round(price)", "round(price, 1)", "round(qty, -1)", "floor(price)", "ceil(price)"], False),
    (["id", "floor(price)"], True),
    (["id", "upper(ticker)", "lower(ticker)", "length(ticker)", "substring(ticker, 2)", "substr(ticker, -3, 2)", "concat(ticker, '-', id)"], True),
    (["id", "CAST(price AS INT)", "CAST(price AS BIGINT) AS price_long", "CAST(price AS STRING) AS price_text", "CAST(qty AS DOUBLE)", "CAST(flag AS INT)", "CAST(ticker AS DOUBLE)"], False),
    (["id", "CAST(price AS INT)"], True),
    (["id", "to_timestamp(event_time) AS ts", "date_format(to_timestamp(event_time), 'yyyy-MM-dd HH:mm') AS minute", "CAST(to_timestamp(event_time) AS BIGINT) AS epoch", "to_timestamp(event_time, 'yyyy-MM-dd HH:mm:ss') AS strict"], False),
    (["id", "to_timestamp(event_time)"], True),
    (["id", "CASE WHEN price > 50 THEN 'high' WHEN price > 1 THEN 'mid' ELSE 'low' END", "coalesce(ticker, 'none')", "price IS NULL", "ticker IN ('AAPL', 'IBM')", "price BETWEEN 1 AND 100", "ticker LIKE '%a%'", "CASE qty WHEN 1 THEN 'one' WHEN 2 THEN 'two' END"], True),
    (["id", "TRY_CAST(ticker AS INT) AS t", "TRY_CAST('x' AS INT) AS c", "CAST(' 7 ' AS INT) AS seven"], True),
    (["id", "CAST('x' AS INT) AS c"], False),
    (["*"], True),
    (["id", "1 + 1", "'x' AS lit", "1.5 * 2", "1e3", "qty IS NOT NULL AND flag"], True),
]

# (select list, ansi) over SCHEMA_TS
TIMESTAMP_SELECTS = [
    (["id", "event_time"], True),
    (["id", "date_format(event_time, 'yyyy-MM-dd HH:mm') AS minute", "CAST(event_time AS BIGINT) AS epoch", "event_time > '2026-11-25 12:00:00' AS later", "CAST(event_time AS STRING) AS text"], True),
]

# (predicate, ansi) over SCHEMA_TS
TIMESTAMP_FILTERS = [
    ("event_time >= '2026-11-25 12:00'", True),
    ("event_time BETWEEN '2026-01-01' AND '2026-12-31' AND date_format(event_time, 'HH') = '12'", True),
]


def condition(e):
    cls = e.getCondition() if hasattr(e, "getCondition") else e.getErrorClass()
    return cls or type(e).__name__


def main():
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("OFF")
    lines = spark.read.text(str(HERE / "corpus.jsonl"))
    df = lines.select(from_json(col("value"), SCHEMA).alias("r")).select("r.*").cache()
    out = {"filters": [], "selects": []}
    read = lambda schema: lines.select(from_json(col("value"), schema).alias("r")).select("r.*").cache()
    frames = {SCHEMA: df, SCHEMA_TS: read(SCHEMA_TS)}
    for schema, filters in [(SCHEMA, FILTERS), (SCHEMA_TS, TIMESTAMP_FILTERS)]:
        for predicate, ansi in filters:
            spark.conf.set("spark.sql.ansi.enabled", str(ansi).lower())
            case = {"where": predicate, "ansi": ansi, "schema": schema}
            try:
                case["ids"] = [r.id for r in frames[schema].filter(predicate).select("id").collect()]
            except PySparkException as e:
                case["error"] = condition(e)
            out["filters"].append(case)
    for schema, selects in [(SCHEMA, SELECTS), (SCHEMA_TS, TIMESTAMP_SELECTS)]:
        for exprs, ansi in selects:
            spark.conf.set("spark.sql.ansi.enabled", str(ansi).lower())
            case = {"exprs": exprs, "ansi": ansi, "schema": schema}
            try:
                case["show"] = frames[schema].selectExpr(*exprs)._jdf.showString(20, 20, False)
            except Exception as e:  # py4j wraps Spark's errors in ansi mode
                case["error"] = condition(e) if isinstance(e, PySparkException) else str(e).split("]")[0].split("[")[-1]
            out["selects"].append(case)
    (HERE / "expected.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    spark.stop()


if __name__ == "__main__":
    main()
