package dev.sluice.bench;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;

/**
 * P3 of BENCHMARKS.md as a Kafka Streams application: each value parsed into a {@link Tick}
 * (a field of the wrong type or bad JSON drops the record, where Sluice keeps a null row that
 * the filter then drops), kept when {@code price > 50 AND ticker IN ('AAPL','MSFT')}, written
 * back as JSON.
 *
 * <p>{@code P3 BROKERS IN OUT RECORDS APPLICATION_ID}: exits once it has read RECORDS records
 * and closed (which flushes the producer and commits), so it can be timed like {@code host run
 * --available-now}.
 */
public final class P3 {
  /** The tutorial's schema: event_time string, ticker string, price double. */
  public record Tick(String event_time, String ticker, Double price) {}

  private static final Set<String> TICKERS = Set.of("AAPL", "MSFT");

  public static void main(String[] args) throws Exception {
    String brokers = args[0], in = args[1], out = args[2], appId = args[4];
    long records = Long.parseLong(args[3]);
    ObjectMapper json =
        new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    Properties config = new Properties();
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    config.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
    config.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
    config.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    AtomicLong seen = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    StreamsBuilder builder = new StreamsBuilder();
    builder.<byte[], byte[]>stream(in)
        .peek((k, v) -> {
          if (seen.incrementAndGet() == records) {
            done.countDown();
          }
        })
        .flatMapValues(value -> {
          try {
            Tick tick = json.readValue(value, Tick.class);
            if (tick.price() != null && tick.price() > 50 && TICKERS.contains(tick.ticker())) {
              return List.of(json.writeValueAsBytes(tick));
            }
          } catch (Exception badRecord) {
            // Not a tick: dropped.
          }
          return List.<byte[]>of();
        })
        .to(out);

    try (KafkaStreams streams = new KafkaStreams(builder.build(), config)) {
      streams.setUncaughtExceptionHandler(e -> {
        e.printStackTrace();
        System.exit(2);
        return null;
      });
      streams.start();
      done.await();
      streams.close(Duration.ofSeconds(60));
    }
  }
}
