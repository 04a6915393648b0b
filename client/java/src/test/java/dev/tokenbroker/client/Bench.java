package dev.tokenbroker.client;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One-thread throughput of cached tokens through the SDK, against the real broker and emulator
 * on loopback. Run by {@code client/java/bench.sh}; not part of the tests.
 *
 * <ul>
 *   <li>{@code getAccessToken}: one unary RPC per call, answered from the broker's cache.
 *   <li>{@code getRequestHeaders}: the same for the headers.
 *   <li>{@code TokenSource.token()} / {@code requestHeaders()}: the SDK's own cache, no RPC.
 * </ul>
 *
 * Every loop is bounded in time ({@code -Dbench.seconds}, default 5 s per measurement, after 5 s
 * of warm-up of the RPC path and 1 s before each row); each row is measured {@code
 * -Dbench.rounds} times (default 2), interleaved, since a shared machine is noisy.
 */
public final class Bench {
  private Bench() {}

  public static void main(String[] args) throws Exception {
    double seconds = Double.parseDouble(System.getProperty("bench.seconds", "5"));
    int rounds = Integer.parseInt(System.getProperty("bench.rounds", "2"));
    try (BrokerFixture broker = BrokerFixture.start(24 * 3600);
        TokenbrokerClient client = TokenbrokerClient.create(broker.options().build())) {
      client.createIntegration("bench", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
      client.getAccessToken("bench"); // Mint once; everything below is cached.
      long exchanges = broker.imsExchanges();
      System.out.printf(
          Locale.ROOT,
          "tokenbroker Java SDK, 1 thread, plaintext gRPC on loopback, %s s per row, "
              + "Java %s, %d cores%n",
          seconds,
          System.getProperty("java.version"),
          Runtime.getRuntime().availableProcessors());
      // JIT warm-up of the whole RPC path before any row is measured.
      long warm = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (System.nanoTime() < warm) {
        client.getAccessToken("bench");
        client.getRequestHeaders("bench");
      }
      for (int round = 1; round <= rounds; round++) {
        run("client.getAccessToken (1 RPC/call)", seconds, () -> client.getAccessToken("bench"), true);
        run(
            "client.getRequestHeaders (1 RPC/call)",
            seconds,
            () -> client.getRequestHeaders("bench"),
            true);
      }
      try (TokenSource source = client.tokenSource("bench")) {
        source.requestHeaders();
        for (int round = 1; round <= rounds; round++) {
          run("tokenSource.token() (SDK cache)", Math.min(seconds, 2), source::token, false);
          run(
              "tokenSource.requestHeaders() (SDK cache)",
              Math.min(seconds, 2),
              source::requestHeaders,
              false);
        }
      }
      System.out.printf(
          Locale.ROOT, "IMS exchanges during the benchmark: %d%n", broker.imsExchanges() - exchanges);
    }
  }

  private static void run(String name, double seconds, Supplier<?> op, boolean latencies) {
    long warmEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    while (System.nanoTime() < warmEnd) {
      op.get();
    }
    long[] samples = new long[latencies ? 4_000_000 : 0];
    long n = 0;
    long start = System.nanoTime();
    long end = start + (long) (seconds * 1e9);
    long now = start;
    while (now < end) {
      if (latencies) {
        long t0 = System.nanoTime();
        op.get();
        now = System.nanoTime();
        if (n < samples.length) {
          samples[(int) n] = now - t0;
        }
        n++;
      } else {
        for (int i = 0; i < 1000; i++) {
          op.get();
        }
        n += 1000;
        now = System.nanoTime();
      }
    }
    double elapsed = (now - start) / 1e9;
    String lat = "";
    if (latencies) {
      long[] s = Arrays.copyOf(samples, (int) Math.min(n, samples.length));
      Arrays.sort(s);
      lat =
          String.format(
              Locale.ROOT,
              "  p50 %.0f µs  p99 %.0f µs",
              s[s.length / 2] / 1e3,
              s[(int) (s.length * 0.99)] / 1e3);
    }
    System.out.printf(
        Locale.ROOT, "%-42s %,14.0f calls/s%s%n", name, n / elapsed, lat);
  }

}
