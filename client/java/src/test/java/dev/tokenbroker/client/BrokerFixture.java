package dev.tokenbroker.client;

import dev.tokenbroker.v1.AuthMethod;
import dev.tokenbroker.v1.Credentials;
import dev.tokenbroker.v1.Integration;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Starts the real {@code ims-emulator} and {@code tokenbroker} binaries on free loopback ports,
 * in a temporary folder, and stops them on {@link #close()} (or at JVM exit).
 *
 * <p>The binaries come from {@code $TOKENBROKER_BIN_DIR}, else {@code <repo>/build/bin}. By
 * default the emulator knows client {@code c1} (secret {@code s1}, tokens living {@code
 * tokenLifetimeSeconds}); {@link #start(List, List)} takes the emulator's clients instead. The
 * broker can be restarted on the same port with the same flags ({@link #restartBroker()}).
 */
final class BrokerFixture implements AutoCloseable {
  static final String CLIENT_ID = "c1";
  static final String SECRET = "s1";
  static final String ORG_ID = "ORG@AdobeOrg";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(20);

  private final Path dir;
  private final List<Process> processes = new ArrayList<>();
  private final Thread cleanup = new Thread(this::stopProcesses, "broker-fixture-cleanup");
  private Process ims;
  private Process broker;
  private int imsPort;
  private int brokerPort;
  private List<String> brokerFlags = List.of();
  private HttpClient imsAdmin;

  private BrokerFixture() throws IOException {
    dir = Files.createTempDirectory("tokenbroker-java-test");
    Runtime.getRuntime().addShutdownHook(cleanup);
  }

  static Path binDir() {
    String env = System.getenv("TOKENBROKER_BIN_DIR");
    if (env != null && !env.isEmpty()) {
      return Paths.get(env);
    }
    String repo = System.getProperty("tokenbroker.repo", "../..");
    return Paths.get(repo, "build", "bin").toAbsolutePath().normalize();
  }

  /** Emulator + plaintext broker with {@code extraBrokerFlags}. */
  static BrokerFixture start(int tokenLifetimeSeconds, String... extraBrokerFlags)
      throws IOException, InterruptedException {
    return start(
        List.of(imsClient(CLIENT_ID, SECRET, tokenLifetimeSeconds)), List.of(extraBrokerFlags));
  }

  /**
   * Emulator knowing {@code imsClients} (from {@link #imsClient}) + plaintext broker with {@code
   * extraBrokerFlags}.
   */
  static BrokerFixture start(List<String> imsClients, List<String> extraBrokerFlags)
      throws IOException, InterruptedException {
    BrokerFixture f = new BrokerFixture();
    try {
      f.startIms(imsClients);
      f.brokerFlags = List.copyOf(extraBrokerFlags);
      f.startBroker(0);
      return f;
    } catch (IOException | InterruptedException | RuntimeException e) {
      f.close();
      throw e;
    }
  }

  Path dir() {
    return dir;
  }

  int brokerPort() {
    return brokerPort;
  }

  String target() {
    return "127.0.0.1:" + brokerPort;
  }

  /** Options for a plaintext client of this broker, with quick retries. */
  TokenbrokerOptions.Builder options() {
    return TokenbrokerOptions.builder(target())
        .plaintext()
        .deadline(Duration.ofSeconds(10))
        .retryPolicy(
            RetryPolicy.builder()
                .maxAttempts(3)
                .initialBackoff(Duration.ofMillis(50))
                .maxBackoff(Duration.ofMillis(200))
                .build());
  }

  /** An OAuth S2S integration of client c1 with {@code secret}, created over gRPC. */
  static Integration oauthIntegration(String secret) {
    return Integration.newBuilder()
        .setAuthMethod(AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER)
        .setClientId(CLIENT_ID)
        .setOrgId(ORG_ID)
        .addScopes("openid")
        .addScopes("AdobeID")
        .setIncludeOrgHeader(true)
        .setCredentials(Credentials.newBuilder().addClientSecrets(secret))
        .build();
  }

  // --- ims-emulator admin ----------------------------------------------------------------------

  /** {@code total_exchanges} of the emulator's stats. */
  long imsExchanges() throws IOException, InterruptedException {
    String body = imsAdmin("GET", "/emulator/stats", null);
    Matcher m = Pattern.compile("\"total_exchanges\"\\s*:\\s*(\\d+)").matcher(body);
    if (!m.find()) {
      throw new IOException("unexpected stats: " + body);
    }
    return Long.parseLong(m.group(1));
  }

  /** Makes every IMS token request fail with 503 ({@code true}) or work again. */
  void setImsDown(boolean down) throws IOException, InterruptedException {
    setImsFaults(down ? "{\"down\":true}" : "{}");
  }

  /** {@code POST /emulator/faults} with {@code json}. */
  void setImsFaults(String json) throws IOException, InterruptedException {
    imsAdmin("POST", "/emulator/faults", json);
  }

  /** The body of {@code GET /emulator/stats} (JSON). */
  String imsStats() throws IOException, InterruptedException {
    return imsAdmin("GET", "/emulator/stats", null);
  }

  private String imsAdmin(String method, String path, String json)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + imsPort + path))
            .timeout(Duration.ofSeconds(5));
    if (json != null) {
      b.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(json));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r = imsAdmin.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) {
      throw new IOException(method + " " + path + ": HTTP " + r.statusCode() + ": " + r.body());
    }
    return r.body();
  }

  // --- Processes ---------------------------------------------------------------------------------

  /** One client of the emulator's clients file (org {@link #ORG_ID}, openid + AdobeID). */
  static String imsClient(String clientId, String secret, long tokenLifetimeSeconds) {
    return "{\"client_id\":\""
        + clientId
        + "\",\"client_secrets\":[\""
        + secret
        + "\"],\"org_id\":\""
        + ORG_ID
        + "\",\"technical_account_id\":\"T@techacct.adobe.com\","
        + "\"scopes\":[\"openid\",\"AdobeID\"],\"token_lifetime_seconds\":"
        + tokenLifetimeSeconds
        + "}";
  }

  private void startIms(List<String> imsClients) throws IOException, InterruptedException {
    Path clients = dir.resolve("clients.json");
    Files.writeString(clients, "{\"clients\":[" + String.join(",", imsClients) + "]}");
    Path portFile = dir.resolve("ims.port");
    ims =
        spawn(
            "ims",
            binDir().resolve("ims-emulator").toString(),
            "--listen=127.0.0.1:0",
            "--port-file=" + portFile,
            "--cert-out=" + imsCa(),
            "--clients=" + clients);
    imsPort = awaitPort(ims, portFile, "ims");
    imsAdmin = HttpClient.newBuilder().sslContext(sslContextTrusting(imsCa())).build();
  }

  Path imsCa() {
    return dir.resolve("ims-ca.pem");
  }

  /** Starts the broker on {@code port} (0: a free one). */
  private void startBroker(int port) throws IOException, InterruptedException {
    Path portFile = dir.resolve("broker.port");
    Files.deleteIfExists(portFile);
    List<String> cmd = new ArrayList<>();
    cmd.add(binDir().resolve("tokenbroker").toString());
    cmd.add("--listen=127.0.0.1:" + port);
    cmd.add("--port-file=" + portFile);
    cmd.add("--store=memory");
    cmd.add("--ims-url=https://127.0.0.1:" + imsPort);
    cmd.add("--ims-ca-file=" + imsCa());
    cmd.add("--log-level=warning");
    cmd.addAll(brokerFlags);
    broker = spawn("broker", cmd.toArray(String[]::new));
    brokerPort = awaitPort(broker, portFile, "broker");
  }

  private Process spawn(String name, String... cmd) throws IOException {
    Path bin = Paths.get(cmd[0]);
    if (!Files.isExecutable(bin)) {
      throw new IOException(
          bin + " not found: build the binaries (make build) or set TOKENBROKER_BIN_DIR");
    }
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()))
            .redirectErrorStream(true)
            .start();
    processes.add(p);
    return p;
  }

  private int awaitPort(Process p, Path portFile, String name)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(portFile)) {
        String s = Files.readString(portFile).strip();
        if (!s.isEmpty()) {
          return Integer.parseInt(s);
        }
      }
      if (!p.isAlive()) {
        throw new IOException(name + " exited with " + p.exitValue() + ": " + log(name));
      }
      Thread.sleep(20);
    }
    throw new IOException(name + " wrote no port within " + START_TIMEOUT + ": " + log(name));
  }

  String log(String name) {
    try {
      return Files.readString(dir.resolve(name + ".log"));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** A new broker is needed by a test (different flags): stop this one. */
  void stopBroker() throws InterruptedException {
    stop(broker);
  }

  /**
   * Stops the broker (SIGTERM) and starts it again on the same port with the same flags. Its
   * memory store starts empty: integrations must be created again.
   */
  void restartBroker() throws IOException, InterruptedException {
    stop(broker);
    processes.remove(broker);
    startBroker(brokerPort);
  }

  private static void stop(Process p) throws InterruptedException {
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroy(); // SIGTERM: graceful shutdown.
    if (!p.waitFor(5, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(5, TimeUnit.SECONDS);
    }
  }

  private void stopProcesses() {
    for (Process p : processes) {
      try {
        stop(p);
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    stopProcesses();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException ignored) {
      // Already shutting down.
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static SSLContext sslContextTrusting(Path caPem) {
    try {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      int i = 0;
      try (var in = Files.newInputStream(caPem)) {
        for (var c : cf.generateCertificates(in)) {
          ks.setCertificateEntry("ca" + i++, (X509Certificate) c);
        }
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException("cannot trust " + caPem, e);
    }
  }
}
