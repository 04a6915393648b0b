package dev.tokenbroker.client;

import dev.tokenbroker.v1.GetAccessTokenRequest;
import dev.tokenbroker.v1.TokenServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The SDK's per-call overhead: one thread, cached {@code GetAccessToken} through {@link
 * TokenbrokerClient#getAccessToken(String)} beside the bare generated blocking stub, both on one
 * plaintext {@link ManagedChannel} to the same broker, after warm-up. Each round alternates
 * 100 ms slices of the two, so that a noisy neighbour hurts both alike; the overhead is {@code
 * (t_sdk - t_stub) / t_stub} of the time per call over all rounds. Run by {@code client/java/overhead.sh}.
 */
public final class Overhead {
  private static final String NAME = "integrations/bench";
  private static final double SLICE_SECONDS = 0.1;

  private Overhead() {}

  public static void main(String[] args) throws Exception {
    double seconds = Double.parseDouble(System.getProperty("bench.seconds", "3"));
    int rounds = Integer.parseInt(System.getProperty("bench.rounds", "3"));
    try (BrokerFixture broker = BrokerFixture.start(24 * 3600)) {
      ManagedChannel channel =
          Grpc.newChannelBuilder(broker.target(), InsecureChannelCredentials.create()).build();
      try (TokenbrokerClient sdk =
          TokenbrokerClient.create(
              channel, TokenbrokerOptions.builder(broker.target()).plaintext().build())) {
        sdk.createIntegration("bench", BrokerFixture.oauthIntegration(BrokerFixture.SECRET));
        measure(sdk, TokenServiceGrpc.newBlockingStub(channel), seconds, rounds);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static void measure(
      TokenbrokerClient sdk,
      TokenServiceGrpc.TokenServiceBlockingStub stub,
      double seconds,
      int rounds) {
    Runnable viaSdk = () -> sdk.getAccessToken("bench");
    Runnable viaStub =
        () -> stub.getAccessToken(GetAccessTokenRequest.newBuilder().setName(NAME).build());
    // JIT warm-up of both paths; the broker mints the token once, all later calls are cached.
    for (int i = 0; i < 3; i++) {
      loop(viaSdk, 2);
      loop(viaStub, 2);
    }
    System.out.printf(
        Locale.ROOT,
        "java: 1 thread, cached GetAccessToken, plaintext loopback, %d rounds of %s s, Java %s%n",
        rounds,
        seconds,
        System.getProperty("java.version"));
    double[] sdkTotal = new double[2];
    double[] stubTotal = new double[2];
    for (int r = 1; r <= rounds; r++) {
      double[] s = new double[2];
      double[] k = new double[2];
      // Short alternating slices: load from other processes hits both paths alike.
      for (double left = seconds; left > 0; left -= 2 * SLICE_SECONDS) {
        add(s, loop(viaStub, SLICE_SECONDS));
        add(k, loop(viaSdk, SLICE_SECONDS));
      }
      add(stubTotal, s);
      add(sdkTotal, k);
      System.out.printf(
          Locale.ROOT,
          "  round %d: stub %,.0f calls/s, sdk %,.0f calls/s, overhead %+.1f %%%n",
          r,
          s[0] / s[1],
          k[0] / k[1],
          overhead(k, s));
    }
    System.out.printf(
        Locale.ROOT,
        "java: stub %,.0f calls/s, sdk %,.0f calls/s, sdk overhead %+.1f %% per call%n",
        stubTotal[0] / stubTotal[1],
        sdkTotal[0] / sdkTotal[1],
        overhead(sdkTotal, stubTotal));
  }

  /** Calls {@code op} for {@code seconds}: {calls, elapsed seconds}. */
  private static double[] loop(Runnable op, double seconds) {
    long start = System.nanoTime();
    long end = start + (long) (seconds * 1e9);
    long n = 0;
    long now = start;
    while (now < end) {
      op.run();
      n++;
      now = System.nanoTime();
    }
    return new double[] {n, (now - start) / 1e9};
  }

  private static void add(double[] total, double[] round) {
    total[0] += round[0];
    total[1] += round[1];
  }

  /** {@code (t_sdk - t_stub) / t_stub} in percent, t being the time per call. */
  private static double overhead(double[] sdk, double[] stub) {
    double tSdk = sdk[1] / sdk[0];
    double tStub = stub[1] / stub[0];
    return 100 * (tSdk - tStub) / tStub;
  }
}
