package dev.tokenbroker.client;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.Executor;

/**
 * Adds {@code authorization: Bearer <caller token>} to every call.
 *
 * <p>A token file is stat'ed at most once a second and re-read when its modification time or size
 * changed. Thread-safe: the cached value is one immutable object behind a volatile field.
 */
final class CallerTokenCredentials extends CallCredentials {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final long RECHECK_NANOS = 1_000_000_000L;

  private record Cached(String header, long mtimeMillis, long size, long checkedNanos) {}

  private final String fixedHeader;
  private final Path file;
  private volatile Cached cached;

  private CallerTokenCredentials(String fixedHeader, Path file) {
    this.fixedHeader = fixedHeader;
    this.file = file;
  }

  static CallerTokenCredentials of(String token) {
    return new CallerTokenCredentials("Bearer " + token, null);
  }

  static CallerTokenCredentials fromFile(Path file) {
    return new CallerTokenCredentials(null, file);
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
            applier.fail(
                Status.UNAUTHENTICATED
                    .withDescription(
                        "cannot read the caller token file " + file + ": " + e.getMessage())
                    .withCause(e));
          }
        });
  }

  private static void apply(MetadataApplier applier, String header) {
    Metadata m = new Metadata();
    m.put(AUTHORIZATION, header);
    applier.apply(m);
  }

  /** The header value when no file needs to be looked at, else null. */
  private String cachedHeader() {
    if (fixedHeader != null) {
      return fixedHeader;
    }
    Cached c = cached;
    return c != null && System.nanoTime() - c.checkedNanos < RECHECK_NANOS ? c.header : null;
  }

  /** The header value; reads the file when it is due. */
  String header() throws IOException {
    if (fixedHeader != null) {
      return fixedHeader;
    }
    long now = System.nanoTime();
    Cached c = cached;
    if (c != null && now - c.checkedNanos < RECHECK_NANOS) {
      return c.header;
    }
    BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
    long mtime = attrs.lastModifiedTime().toMillis();
    if (c != null && c.mtimeMillis == mtime && c.size == attrs.size()) {
      cached = new Cached(c.header, mtime, c.size, now);
      return c.header;
    }
    String token = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
    if (token.isEmpty() || token.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalStateException("the file must hold one non-empty token");
    }
    String header = "Bearer " + token;
    cached = new Cached(header, mtime, attrs.size(), now);
    return header;
  }
}
