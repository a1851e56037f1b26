"""The tutorial's consumer (pyspark/consume/consume.py), unchanged but for what a test needs to
say: the broker, the topic, a bounded run (trigger(availableNow=True)) and the batch size
(maxOffsetsPerTrigger). Spark's Kafka connector comes from target/spark/jars (tests/spark/pom.xml)
instead of `spark-submit --packages`, so nothing is fetched at run time.

    python tests/spark/consume.py BROKERS TOPIC MAX_OFFSETS_PER_TRIGGER

Prints what the tutorial prints: the two schemas, then each micro-batch as the console sink
prints it. Spark's own log goes to stderr.
"""

import glob
import os
import sys

from pyspark.sql import SparkSession
from pyspark.sql.functions import from_json
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

brokers, topic, per_trigger = sys.argv[1], sys.argv[2], sys.argv[3]
jars = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "../../target/spark/jars/*.jar")))
if not jars:
    sys.exit("Spark's Kafka connector is missing from target/spark/jars: run scripts/jars")

spark_session = SparkSession\
    .builder\
    .appName("RedpandaSparkStream")\
    .master("local[2]")\
    .config("spark.jars", ",".join(jars))\
    .config("spark.ui.enabled", "false")\
    .config("spark.sql.shuffle.partitions", "2")\
    .getOrCreate()

stream = spark_session\
    .readStream\
    .format("kafka")\
    .option("kafka.bootstrap.servers", brokers)\
    .option("subscribe", topic)\
    .option("startingOffsets", "earliest")\
    .option("maxOffsetsPerTrigger", per_trigger)\
    .load()

spark_session.sparkContext.setLogLevel('WARN')

stream.printSchema()

json_df = stream.selectExpr("cast(value as string) as value")

json_schema = StructType([
    StructField('event_time', StringType(), True), \
    StructField('ticker', StringType(), True), \
    StructField('price', DoubleType(), True) \
])

json_expanded_df = json_df.withColumn("value", from_json(json_df["value"], json_schema)).select("value.*")

json_expanded_df.printSchema()

query = json_expanded_df \
    .writeStream \
    .format("console") \
    .trigger(availableNow=True) \
    .start()

query.awaitTermination()
sys.stdout.flush()
spark_session.stop()
