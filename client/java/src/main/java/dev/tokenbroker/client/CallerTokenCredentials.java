package dev.tokenbroker.client;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executor;

/**
 * Adds {@code authorization: Bearer <caller token>} to every call.
 *
 * <p>A token file is read again once the copy in memory is older than the reload interval
 * ({@link TokenbrokerOptions#callerTokenReload()}), so a rotated file is picked up within that
 * time. A file that cannot be read fails the call with {@code UNAUTHENTICATED} naming the file,
 * never its content. Thread-safe: the cached value is one immutable object behind a volatile
 * field.
 */
final class CallerTokenCredentials extends CallCredentials {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private record Cached(String header, long readNanos) {}

  private final String fixedHeader;
  private final Path file;
  private final long reloadNanos;
  private volatile Cached cached;

  private CallerTokenCredentials(String fixedHeader, Path file, Duration reload) {
    this.fixedHeader = fixedHeader;
    this.file = file;
    this.reloadNanos = reload.toNanos();
  }

  static CallerTokenCredentials of(String token) {
    return new CallerTokenCredentials("Bearer " + token, null, Duration.ZERO);
  }

  static CallerTokenCredentials fromFile(Path file, Duration reload) {
    return new CallerTokenCredentials(null, file, reload);
  }

  @Override
  public void applyRequestMetadata(
      RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
    String header = cachedHeader();
    if (header != null) {
      apply(applier, header);
      return;
    }
    // File I/O: off the caller's (possibly a transport) thread.
    appExecutor.execute(
        () -> {
          try {
            apply(applier, header());
          } catch (IOException | RuntimeException e) {
            // The exception's message names the file or the problem, never the content.
            applier.fail(
                Status.UNAUTHENTICATED
                    .withDescription(
                        "cannot read the caller token file " + file + ": " + describe(e))
                    .withCause(e));
          }
        });
  }

  private static String describe(Exception e) {
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }

  private static void apply(MetadataApplier applier, String header) {
    Metadata m = new Metadata();
    m.put(AUTHORIZATION, header);
    applier.apply(m);
  }

  /** The header value when no file needs to be read, else null. */
  private String cachedHeader() {
    if (fixedHeader != null) {
      return fixedHeader;
    }
    Cached c = cached;
    return c != null && System.nanoTime() - c.readNanos < reloadNanos ? c.header : null;
  }

  /** The header value; reads the file when the copy in memory is too old. */
  String header() throws IOException {
    String header = cachedHeader();
    if (header != null) {
      return header;
    }
    long now = System.nanoTime();
    String token = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
    if (token.isEmpty() || token.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalStateException("the file must hold one non-empty token");
    }
    header = "Bearer " + token;
    cached = new Cached(header, now);
    return header;
  }
}
