"""P3's Python side: the loop a Python user would write instead of Sluice, with
confluent-kafka: consume, json.loads, the same filter as schema_filter's `where`, json.dumps
of the parsed row, produce. Stops after RECORDS records and exits when all are delivered.

Usage: python python_loop.py BROKERS INPUT_TOPIC OUTPUT_TOPIC RECORDS GROUP
Prints the number of records produced.
"""

import json
import sys

from confluent_kafka import Consumer, Producer


def main():
    brokers, source, sink, records, group = sys.argv[1:4] + [int(sys.argv[4]), sys.argv[5]]
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": group,
            "auto.offset.reset": "earliest",
        }
    )
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 5})
    consumer.subscribe([source])
    seen = produced = 0
    while seen < records:
        for message in consumer.consume(1000, timeout=1.0):
            if message.error():
                raise SystemExit(f"reading {source}: {message.error()}")
            seen += 1
            try:
                row = json.loads(message.value())
            except ValueError:
                continue
            price, ticker = row.get("price"), row.get("ticker")
            if isinstance(price, (int, float)) and price > 50 and ticker in ("AAPL", "MSFT"):
                out = {"event_time": row.get("event_time"), "ticker": ticker, "price": float(price)}
                while True:
                    try:
                        producer.produce(sink, json.dumps(out).encode(), key=message.key())
                        break
                    except BufferError:
                        producer.poll(0.1)
                produced += 1
            producer.poll(0)
    producer.flush(60)
    consumer.close()
    print(produced)


if __name__ == "__main__":
    main()
