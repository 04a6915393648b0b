package dev.tokenbroker.client;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.tokenbroker.client.ConformanceExpect.Outcome;
import dev.tokenbroker.v1.AuthMethod;
import dev.tokenbroker.v1.Credentials;
import dev.tokenbroker.v1.Integration;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One scenario of client/conformance/scenarios.json run as its README says: a fresh folder, the
 * emulator and the broker, the integrations (through the SDK), the faults, then the steps in
 * order; {@link #close()} stops everything, whatever happened.
 */
final class ConformanceScenario implements AutoCloseable {
  private static final Set<String> BROKER_KEYS = Set.of("tls", "flags", "policy");
  private static final Set<String> POLICY_KEYS = Set.of("caller_tokens", "bindings");
  private static final Set<String> INTEGRATION_KEYS = Set.of("id", "client_id", "secret");
  private static final Set<String> EMULATOR_CLIENT_KEYS =
      Set.of("client_id", "secret", "lifetime_s");
  private static final Set<String> DEFAULTS_KEYS =
      Set.of(
          "tls", "call_timeout_ms", "retry", "token_source_min_validity", "caller_token_reload_ms");
  private static final Set<String> RETRY_KEYS =
      Set.of("max_attempts", "initial_backoff_ms", "multiplier", "max_backoff_ms");
  /** The every-scenario emulator client: 24 h tokens. */
  private static final String DAY_CLIENT = BrokerFixture.imsClient("c-day", "s-day", 86_400);

  private static final Duration POLL = Duration.ofMillis(50);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final JsonObject spec;
  private final JsonObject defaults;
  private final Path dir;
  private final Path callerTokenFile;
  private final Map<String, Token> saved = new HashMap<>();
  private TestCerts certs;
  private BrokerFixture fixture;
  private TokenbrokerClient stepClient;
  private TokenbrokerClient sourceClient;
  private TokenSource source;

  ConformanceScenario(JsonObject spec, JsonObject defaults) throws IOException {
    this.spec = spec;
    this.defaults = defaults;
    this.dir = Files.createTempDirectory("tokenbroker-java-conformance");
    this.callerTokenFile = dir.resolve("caller.token");
  }

  void run() throws Exception {
    ConformanceTest.checkKeys(spec, "scenario", ConformanceTest.SCENARIO_KEYS);
    start();
    createIntegrations();
    if (spec.has("faults")) {
      fixture.setImsFaults(spec.getAsJsonObject("faults").toString());
    }
    JsonArray steps = spec.getAsJsonArray("steps");
    for (int i = 0; i < steps.size(); i++) {
      JsonObject step = steps.get(i).getAsJsonObject();
      String op = step.has("op") ? step.get("op").getAsString() : "(no op)";
      try {
        step(op, step);
      } catch (AssertionError | Exception e) {
        String id = spec.get("id").getAsString();
        throw new AssertionError(id + ": step " + i + " (" + op + "): " + e.getMessage(), e);
      }
    }
  }

  // --- Setup ------------------------------------------------------------------------------------

  private void start() throws IOException, InterruptedException {
    JsonObject broker = spec.has("broker") ? spec.getAsJsonObject("broker") : new JsonObject();
    ConformanceTest.checkKeys(broker, "broker", BROKER_KEYS);
    List<String> flags = new ArrayList<>();
    if (bool(broker, "tls")) {
      certs = TestCerts.create(dir.resolve("certs"));
      flags.add("--tls-cert=" + certs.serverCert());
      flags.add("--tls-key=" + certs.serverKey());
    }
    if (broker.has("policy")) {
      flags.add("--policy-file=" + writePolicy(broker.getAsJsonObject("policy")));
    }
    if (broker.has("flags")) {
      broker.getAsJsonArray("flags").forEach(f -> flags.add(f.getAsString()));
    }
    fixture = BrokerFixture.start(imsClients(), flags);
  }

  private List<String> imsClients() {
    List<String> clients = new ArrayList<>(List.of(DAY_CLIENT));
    if (spec.has("emulator_clients")) {
      for (JsonElement e : spec.getAsJsonArray("emulator_clients")) {
        JsonObject c = e.getAsJsonObject();
        ConformanceTest.checkKeys(c, "emulator_clients", EMULATOR_CLIENT_KEYS);
        clients.add(
            BrokerFixture.imsClient(
                str(c, "client_id"), str(c, "secret"), c.get("lifetime_s").getAsLong()));
      }
    }
    return clients;
  }

  /** The policy file: each caller token as a salted HMAC-SHA256, as the broker reads it. */
  private Path writePolicy(JsonObject policy) throws IOException {
    ConformanceTest.checkKeys(policy, "broker.policy", POLICY_KEYS);
    JsonArray tokens = new JsonArray();
    for (Map.Entry<String, JsonElement> e : policy.getAsJsonObject("caller_tokens").entrySet()) {
      JsonObject entry = new JsonObject();
      entry.addProperty("identity", e.getKey());
      entry.addProperty("hash", hash(e.getValue().getAsString()));
      tokens.add(entry);
    }
    JsonObject file = new JsonObject();
    file.addProperty("version", 1);
    file.add("caller_tokens", tokens);
    file.add("bindings", policy.has("bindings") ? policy.get("bindings") : new JsonArray());
    Path path = dir.resolve("policy.json");
    Files.writeString(path, file.toString());
    return path;
  }

  private static String hash(String token) {
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(salt, "HmacSHA256"));
      byte[] digest = mac.doFinal(token.getBytes(StandardCharsets.UTF_8));
      HexFormat hex = HexFormat.of();
      return "hmac-sha256:" + hex.formatHex(salt) + ":" + hex.formatHex(digest);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 unavailable", e);
    }
  }

  /** Through the SDK's wrapped IntegrationService, as the setup caller when there is one. */
  private void createIntegrations() {
    if (!spec.has("integrations")) {
      return;
    }
    TokenbrokerOptions.Builder b = TokenbrokerOptions.builder(fixture.target());
    if (certs != null) {
      b.tls(certs.caCert()); // A TLS broker speaks nothing else.
    } else {
      b.plaintext();
    }
    if (spec.has("setup_caller_token")) {
      b.callerToken(str(spec, "setup_caller_token"));
    }
    try (TokenbrokerClient admin = TokenbrokerClient.create(b.build())) {
      for (JsonElement e : spec.getAsJsonArray("integrations")) {
        JsonObject i = e.getAsJsonObject();
        ConformanceTest.checkKeys(i, "integrations", INTEGRATION_KEYS);
        admin.createIntegration(str(i, "id"), integration(str(i, "client_id"), str(i, "secret")));
      }
    }
  }

  private static Integration integration(String clientId, String secret) {
    return Integration.newBuilder()
        .setAuthMethod(AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER)
        .setClientId(clientId)
        .setOrgId(BrokerFixture.ORG_ID)
        .addScopes("openid")
        .addScopes("AdobeID")
        .setCredentials(Credentials.newBuilder().addClientSecrets(secret))
        .build();
  }

  // --- Steps ------------------------------------------------------------------------------------

  private void step(String op, JsonObject step) throws Exception {
    Set<String> keys = ConformanceTest.OPS.get(op);
    if (keys == null) {
      throw new AssertionError("unknown op: " + op);
    }
    Set<String> known = new HashSet<>(keys);
    known.add("op");
    ConformanceTest.checkKeys(step, "step " + op, known);
    switch (op) {
      case "check_defaults" -> checkDefaults();
      case "get_access_token" ->
          expect(step, c -> hasToken(c, str(step, "integration")));
      case "get_integration" ->
          expect(step, c -> !c.getIntegration(str(step, "integration")).getName().isEmpty());
      case "expect_emulator" -> expectEmulator(step.get("token_requests").getAsLong());
      case "client_open" -> clientOpen(step);
      case "client_close" -> clientClose();
      case "write_caller_token_file" -> writeCallerTokenFile(str(step, "token"));
      case "get_access_token_until_ok" -> getAccessTokenUntilOk(step);
      case "token_source_open" -> tokenSourceOpen(step);
      case "token_source_close" -> tokenSourceClose();
      case "token_source_token" -> tokenSourceToken(step);
      case "token_source_until_changed" -> tokenSourceUntilChanged(step);
      case "restart_broker" -> restartBroker();
      case "refresh_access_token" -> refreshAccessToken(step);
      case "token_source_until_equals" -> tokenSourceUntilEquals(step);
      default -> throw new AssertionError("op without an implementation: " + op);
    }
  }

  private void checkDefaults() {
    TokenbrokerOptions o = TokenbrokerOptions.builder("127.0.0.1:1").build();
    ConformanceTest.checkKeys(defaults, "defaults", DEFAULTS_KEYS);
    requireEqual("tls", bool(defaults, "tls"), o.security() == TokenbrokerOptions.Security.TLS);
    requireEqual("call_timeout_ms", num(defaults, "call_timeout_ms"), o.deadline().toMillis());
    requireEqual(
        "caller_token_reload_ms",
        num(defaults, "caller_token_reload_ms"),
        o.callerTokenReload().toMillis());
    if (!str(defaults, "token_source_min_validity").equals("server")) {
      throw new AssertionError("unknown token_source_min_validity: " + defaults);
    }
    requireEqual("token_source_min_validity (unset)", null, o.tokenMinValidity());
    JsonObject retry = defaults.getAsJsonObject("retry");
    ConformanceTest.checkKeys(retry, "defaults.retry", RETRY_KEYS);
    RetryPolicy p = o.retryPolicy();
    requireEqual("retry.max_attempts", num(retry, "max_attempts"), (long) p.maxAttempts());
    long initial = p.initialBackoff().toMillis();
    requireEqual("retry.initial_backoff_ms", num(retry, "initial_backoff_ms"), initial);
    requireEqual("retry.max_backoff_ms", num(retry, "max_backoff_ms"), p.maxBackoff().toMillis());
    requireEqual("retry.multiplier", retry.get("multiplier").getAsDouble(), p.multiplier());
  }

  /** One call through the step's client, its outcome checked against {@code expect}. */
  private void expect(JsonObject step, Function<TokenbrokerClient, Boolean> call) {
    if (!step.has("expect")) {
      throw new AssertionError("the step has no expect");
    }
    Outcome outcome = withClient(step, c -> measure(() -> call.apply(c)));
    ConformanceExpect.check(step.getAsJsonObject("expect"), outcome);
  }

  private static Outcome measure(Supplier<Boolean> call) {
    long start = System.nanoTime();
    try {
      boolean nonEmpty = call.get();
      return new Outcome(nonEmpty, null, Duration.ofNanos(System.nanoTime() - start));
    } catch (TokenbrokerException e) {
      return new Outcome(false, e, Duration.ofNanos(System.nanoTime() - start));
    }
  }

  private void expectEmulator(long tokenRequests) throws IOException, InterruptedException {
    JsonObject stats = JsonParser.parseString(fixture.imsStats()).getAsJsonObject();
    requireEqual("token_requests", tokenRequests, stats.get("token_requests").getAsLong());
  }

  private void clientOpen(JsonObject step) {
    if (stepClient != null) {
      throw new AssertionError("a client is already open");
    }
    stepClient = TokenbrokerClient.create(clientOptions(step.getAsJsonObject("client")));
  }

  private void clientClose() {
    if (stepClient == null) {
      throw new AssertionError("no client is open");
    }
    stepClient.close();
    stepClient = null;
  }

  /** Replaces the content at once: a temporary file renamed over the old one. */
  private void writeCallerTokenFile(String token) throws IOException {
    Path tmp = Files.createTempFile(dir, "caller", ".tmp");
    Files.writeString(tmp, token + "\n");
    Files.move(
        tmp, callerTokenFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private void getAccessTokenUntilOk(JsonObject step) throws InterruptedException {
    String integration = str(step, "integration");
    long end = System.nanoTime() + millis(step, "within_ms").toNanos();
    for (; ; ) {
      Outcome o = withClient(step, c -> measure(() -> hasToken(c, integration)));
      if (o.error() == null && o.nonEmptyResult()) {
        return;
      }
      if (System.nanoTime() > end) {
        throw new AssertionError("no success within " + step.get("within_ms") + " ms", o.error());
      }
      Thread.sleep(POLL.toMillis()); // The polling interval.
    }
  }

  private static boolean hasToken(TokenbrokerClient c, String integration) {
    return !c.getAccessToken(integration).accessToken().isEmpty();
  }

  private void tokenSourceOpen(JsonObject step) {
    if (source != null) {
      throw new AssertionError("a token source is already open");
    }
    TokenbrokerClient c = stepClient;
    if (step.has("client")) {
      // The step's client lives as long as the source it made.
      sourceClient = TokenbrokerClient.create(clientOptions(step.getAsJsonObject("client")));
      c = sourceClient;
    }
    if (c == null) {
      throw new AssertionError("no client: the step has none and no client_open came before");
    }
    source = c.tokenSource(str(step, "integration"));
  }

  private void tokenSourceClose() {
    if (source == null) {
      throw new AssertionError("no token source is open");
    }
    closeSource();
  }

  private void tokenSourceToken(JsonObject step) {
    Token t = source().token();
    checkRemaining(step, t);
    if (step.has("save_as")) {
      saved.put(str(step, "save_as"), t);
    }
  }

  private void tokenSourceUntilChanged(JsonObject step) throws InterruptedException {
    Token from = saved(str(step, "from"));
    Token limit = step.has("before_expiry_of") ? saved(str(step, "before_expiry_of")) : null;
    long end = System.nanoTime() + millis(step, "within_ms").toNanos();
    for (; ; ) {
      Token t = source().token();
      Instant seen = Instant.now();
      checkRemaining(step, t);
      if (!t.accessToken().equals(from.accessToken())) {
        if (limit != null && !seen.isBefore(limit.expireTime())) {
          throw new AssertionError("the new token came at " + seen + ", after " + limit);
        }
        return;
      }
      if (System.nanoTime() > end) {
        throw new AssertionError("the token did not change within " + step.get("within_ms"));
      }
      Thread.sleep(POLL.toMillis()); // The polling interval.
    }
  }

  private void tokenSourceUntilEquals(JsonObject step) throws InterruptedException {
    Token want = saved(str(step, "value"));
    long end = System.nanoTime() + millis(step, "within_ms").toNanos();
    Token t = source().token();
    while (!t.accessToken().equals(want.accessToken())) {
      if (System.nanoTime() > end) {
        throw new AssertionError(
            "the source did not return " + want + " within " + step.get("within_ms") + " ms");
      }
      Thread.sleep(POLL.toMillis()); // The polling interval.
      t = source().token();
    }
  }

  private void restartBroker() throws IOException, InterruptedException {
    fixture.restartBroker();
    createIntegrations();
  }

  private void refreshAccessToken(JsonObject step) {
    Token t = withClient(step, c -> c.refreshAccessToken(str(step, "integration")));
    if (step.has("save_as")) {
      saved.put(str(step, "save_as"), t);
    }
  }

  // --- Clients ----------------------------------------------------------------------------------

  /** Runs {@code call} on the step's own client (closed after it), else on client_open's. */
  private <T> T withClient(JsonObject step, Function<TokenbrokerClient, T> call) {
    if (step.has("client")) {
      try (TokenbrokerClient c =
          TokenbrokerClient.create(clientOptions(step.getAsJsonObject("client")))) {
        return call.apply(c);
      }
    }
    if (stepClient == null) {
      throw new AssertionError("no client: the step has none and no client_open came before");
    }
    return call.apply(stepClient);
  }

  private TokenbrokerOptions clientOptions(JsonObject c) {
    ConformanceTest.checkKeys(c, "client", ConformanceTest.CLIENT_KEYS);
    TokenbrokerOptions.Builder b = TokenbrokerOptions.builder(fixture.target());
    if (bool(c, "plaintext")) {
      b.plaintext();
    }
    if (bool(c, "ca_file")) {
      if (certs == null) {
        throw new AssertionError("ca_file: the scenario's broker has no TLS, so no test CA");
      }
      b.tls(certs.caCert());
    }
    if (c.has("call_timeout_ms")) {
      b.deadline(millis(c, "call_timeout_ms"));
    }
    if (bool(c, "caller_token_file")) {
      b.callerTokenFile(callerTokenFile);
    }
    if (c.has("caller_token_reload_ms")) {
      b.callerTokenReload(millis(c, "caller_token_reload_ms"));
    }
    return b.build();
  }

  // --- Helpers ----------------------------------------------------------------------------------

  private TokenSource source() {
    if (source == null) {
      throw new AssertionError("no token source is open");
    }
    return source;
  }

  private Token saved(String name) {
    Token t = saved.get(name);
    if (t == null) {
      throw new AssertionError("no token saved as " + name);
    }
    return t;
  }

  private static void checkRemaining(JsonObject step, Token t) {
    if (!step.has("min_remaining_ms")) {
      return;
    }
    long left = Duration.between(Instant.now(), t.expireTime()).toMillis();
    if (left < num(step, "min_remaining_ms")) {
      throw new AssertionError(
          "a token with " + left + " ms left, want at least " + step.get("min_remaining_ms"));
    }
  }

  private static void requireEqual(String what, Object want, Object got) {
    if (want == null ? got != null : !want.equals(got)) {
      throw new AssertionError(what + ": want " + want + ", got " + got);
    }
  }

  private static boolean bool(JsonObject o, String key) {
    return o.has(key) && o.get(key).getAsBoolean();
  }

  private static long num(JsonObject o, String key) {
    return o.get(key).getAsLong();
  }

  private static Duration millis(JsonObject o, String key) {
    return Duration.ofMillis(num(o, key));
  }

  private static String str(JsonObject o, String key) {
    JsonElement e = o.get(key);
    if (e == null) {
      throw new AssertionError("missing key: " + key);
    }
    return e.getAsString();
  }

  private void closeSource() {
    if (source != null) {
      source.close();
      source = null;
    }
    if (sourceClient != null) {
      sourceClient.close();
      sourceClient = null;
    }
  }

  @Override
  public void close() throws IOException {
    closeSource();
    if (stepClient != null) {
      stepClient.close();
    }
    if (fixture != null) {
      fixture.close(); // SIGTERM to the broker and the emulator.
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
