package dev.tokenbroker.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** The README's example, kept compiling (not run by the tests: it calls Adobe). */
final class ReadmeExample {
  private ReadmeExample() {}

  public static void main(String[] args) throws Exception {
    // --- README example begins ---
    try (TokenbrokerClient broker = TokenbrokerClient.create(
            TokenbrokerOptions.builder("127.0.0.1:50051").plaintext().build());
        TokenSource adobe = broker.tokenSource("demo")) {
      HttpRequest request = HttpRequests.authorized(
          URI.create("https://platform.adobe.io/data/foundation/catalog/dataSets"), adobe).build();
      HttpResponse<String> response =
          HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
      System.out.println(response.statusCode() + " " + response.body());
    } catch (TokenbrokerException e) {
      System.err.println(e.code() + " " + e.reason() + " ims_error=" + e.imsError()
          + " x-debug-id=" + e.xDebugId());
    }
    // --- README example ends ---
  }
}
