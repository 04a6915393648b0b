package dev.tokenbroker.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A test CA with a server certificate for {@code IP:127.0.0.1} and a client certificate, made
 * with the {@code openssl} command-line tool (EC P-256, PKCS#8 keys, valid one day). Test-only:
 * the keys are unencrypted files.
 */
record TestCerts(
    Path caCert, Path serverCert, Path serverKey, Path clientCert, Path clientKey, Path otherCa) {

  static TestCerts create(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Path caKey = dir.resolve("ca.key");
    Path ca = dir.resolve("ca.pem");
    openssl(
        dir,
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", caKey.toString(), "-out", ca.toString(), "-days", "1",
        "-subj", "/CN=tokenbroker-java-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    Path serverKey = dir.resolve("server.key");
    Path serverCert = dir.resolve("server.pem");
    leaf(dir, ca, caKey, "server", "127.0.0.1",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", serverKey, serverCert);
    Path clientKey = dir.resolve("client.key");
    Path clientCert = dir.resolve("client.pem");
    leaf(dir, ca, caKey, "client", "java-sdk-test",
        "subjectAltName=DNS:java-sdk-test\nextendedKeyUsage=clientAuth\n", clientKey, clientCert);
    // A CA that signed nothing here: trusting it must fail verification.
    Path otherCa = dir.resolve("other-ca.pem");
    openssl(
        dir,
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", dir.resolve("other-ca.key").toString(), "-out", otherCa.toString(),
        "-days", "1", "-subj", "/CN=unrelated-ca");
    return new TestCerts(ca, serverCert, serverKey, clientCert, clientKey, otherCa);
  }

  private static void leaf(
      Path dir, Path ca, Path caKey, String name, String cn, String ext, Path key, Path cert)
      throws IOException, InterruptedException {
    Path csr = dir.resolve(name + ".csr");
    Path extFile = dir.resolve(name + ".ext");
    Files.writeString(extFile, ext);
    openssl(
        dir,
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + cn);
    openssl(
        dir,
        "x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
        "-CAcreateserial", "-out", cert.toString(), "-days", "1", "-sha256",
        "-extfile", extFile.toString());
  }

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
    }
  }
}
