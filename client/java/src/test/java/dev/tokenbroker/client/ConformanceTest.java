package dev.tokenbroker.client;

import static java.util.Map.entry;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The shared client conformance scenarios ({@code client/conformance/scenarios.json}) against the
 * Java SDK and the real {@code tokenbroker} and {@code ims-emulator}: one dynamic test per
 * scenario, named after its id, executed as {@code client/conformance/README.md} says. A scenario,
 * op, option or expectation key this runner does not know fails its test; nothing is skipped.
 *
 * <p>The JSON parser is Gson, which grpc-core (a runtime dependency of the SDK) brings.
 */
class ConformanceTest {
  /** Longer than any scenario's polls and deadlines put together: a hang fails, not blocks. */
  private static final Duration SCENARIO_TIMEOUT = Duration.ofSeconds(120);

  static final Set<String> TOP_KEYS = Set.of("version", "doc", "defaults", "scenarios");
  static final Set<String> SCENARIO_KEYS =
      Set.of(
          "id",
          "rule",
          "doc",
          "broker",
          "emulator_clients",
          "integrations",
          "faults",
          "setup_caller_token",
          "steps");
  static final Set<String> CLIENT_KEYS =
      Set.of(
          "plaintext", "ca_file", "call_timeout_ms", "caller_token_file", "caller_token_reload_ms");

  /** Each op, with the step keys it takes besides {@code op}. */
  static final Map<String, Set<String>> OPS =
      Map.ofEntries(
          entry("check_defaults", Set.of()),
          entry("get_access_token", Set.of("integration", "client", "expect")),
          entry("get_integration", Set.of("integration", "client", "expect")),
          entry("expect_emulator", Set.of("token_requests")),
          entry("client_open", Set.of("client")),
          entry("client_close", Set.of()),
          entry("write_caller_token_file", Set.of("token")),
          entry("get_access_token_until_ok", Set.of("integration", "client", "within_ms")),
          entry("token_source_open", Set.of("integration", "client")),
          entry("token_source_close", Set.of()),
          entry("token_source_token", Set.of("save_as", "min_remaining_ms")),
          entry(
              "token_source_until_changed",
              Set.of("from", "within_ms", "min_remaining_ms", "before_expiry_of")),
          entry("restart_broker", Set.of()),
          entry("refresh_access_token", Set.of("integration", "client", "save_as")),
          entry("token_source_until_equals", Set.of("value", "within_ms")));

  @TestFactory
  @DisplayName("conformance")
  Stream<DynamicTest> scenarios() throws IOException {
    JsonObject root = JsonParser.parseString(Files.readString(scenariosFile())).getAsJsonObject();
    checkKeys(root, "scenarios.json", TOP_KEYS);
    if (root.get("version").getAsInt() != 1) {
      throw new AssertionError("unknown scenarios.json version " + root.get("version"));
    }
    JsonObject defaults = root.getAsJsonObject("defaults");
    List<DynamicTest> tests = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (JsonElement e : root.getAsJsonArray("scenarios")) {
      JsonObject spec = e.getAsJsonObject();
      String id = spec.get("id").getAsString();
      if (!ids.add(id)) {
        throw new AssertionError("scenario id " + id + " appears twice");
      }
      tests.add(dynamicTest(id, () -> run(spec, defaults)));
    }
    if (tests.isEmpty()) {
      throw new AssertionError("scenarios.json holds no scenario");
    }
    return tests.stream();
  }

  private static void run(JsonObject spec, JsonObject defaults) {
    assertTimeoutPreemptively(
        SCENARIO_TIMEOUT,
        () -> {
          try (ConformanceScenario s = new ConformanceScenario(spec, defaults)) {
            s.run();
          }
        });
  }

  static Path scenariosFile() {
    String repo = System.getProperty("tokenbroker.repo", "../..");
    return Paths.get(repo, "client", "conformance", "scenarios.json").toAbsolutePath().normalize();
  }

  /** Fails on a key of {@code o} outside {@code known}: the vocabulary has grown. */
  static void checkKeys(JsonObject o, String where, Set<String> known) {
    for (String key : o.keySet()) {
      if (!known.contains(key)) {
        throw new AssertionError("unknown key in " + where + ": " + key);
      }
    }
  }
}
