#!/usr/bin/env bash
# Installs the Java SDK's artifacts from OUT_DIR (what dist.sh built) the way README.md says,
# into a clean temporary local Maven repository, and builds and runs a consumer project that
# depends on dev.tokenbroker:tokenbroker-client: it creates an integration and gets a token from
# a real tokenbroker + ims-emulator, started here on free loopback ports and stopped on exit.
# Also checks that the sources jar was installed and that the installed POM has the license.
#
#   TOKENBROKER_BIN_DIR=build/bin client/java/dist_test.sh /abs/out/dir
#
# Third-party dependencies come from ~/.m2/repository (read as a file:// repository, so it is
# neither written nor trusted for our artifact), else Maven Central.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:?usage: dist_test.sh OUT_DIR (absolute)}"

source "$here/tools.sh"
ensure_java_tools

fail() { echo "dist_test.sh: $*" >&2; exit 1; }

jars=("$out"/tokenbroker-client-*-sources.jar)
[[ -f "${jars[0]}" ]] || fail "no tokenbroker-client-*-sources.jar in $out: run dist.sh first"
name="$(basename "${jars[0]}" -sources.jar)"
version="${name#tokenbroker-client-}"
for f in "$name.jar" "$name-sources.jar" "$name.pom"; do
  [[ -f "$out/$f" ]] || fail "$out/$f missing"
done

work="$(mktemp -d -t tokenbroker-java-dist-test.XXXXXX)"
# shellcheck source=../conformance/stack.sh
. "$repo/client/conformance/stack.sh"
trap 'stack_stop; rm -rf "$work"' EXIT

# --- Maven: a clean local repository seeded read-only from ~/.m2 ---------------------------------
mkdir -p "$work/m2" "$HOME/.m2/repository"
cat >"$work/settings.xml" <<XML
<settings>
  <localRepository>$work/m2</localRepository>
  <profiles>
    <profile>
      <id>seed</id>
      <repositories>
        <repository><id>user-m2</id><url>file://$HOME/.m2/repository</url></repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository><id>user-m2</id><url>file://$HOME/.m2/repository</url></pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>seed</activeProfile></activeProfiles>
</settings>
XML
mvn_() { mvn -B -q -s "$work/settings.xml" "$@" 2>&1 | strip_colours; }

# The README's install command.
(cd "$work" && mvn_ org.apache.maven.plugins:maven-install-plugin:3.1.3:install-file \
  -Dfile="$out/$name.jar" -DpomFile="$out/$name.pom" -Dsources="$out/$name-sources.jar")

installed="$work/m2/dev/tokenbroker/tokenbroker-client/$version"
[[ -f "$installed/$name.jar" ]] || fail "the jar was not installed"
[[ -f "$installed/$name-sources.jar" ]] || fail "the sources jar was not installed"
grep -q '<name>Apache-2.0</name>' "$installed/$name.pom" ||
  fail "the installed POM has no Apache-2.0 license"

# --- The consumer project --------------------------------------------------------------------------
mkdir -p "$work/consumer/src/main/java/example"
cat >"$work/consumer/pom.xml" <<XML
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>consumer</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>dev.tokenbroker</groupId>
      <artifactId>tokenbroker-client</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-resources-plugin</artifactId>
        <version>3.3.1</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
      </plugin>
    </plugins>
  </build>
</project>
XML
cat >"$work/consumer/src/main/java/example/Consumer.java" <<'JAVA'
package example;

import dev.tokenbroker.client.Token;
import dev.tokenbroker.client.TokenSource;
import dev.tokenbroker.client.TokenbrokerClient;
import dev.tokenbroker.client.TokenbrokerOptions;
import dev.tokenbroker.v1.AuthMethod;
import dev.tokenbroker.v1.Credentials;
import dev.tokenbroker.v1.Integration;

/** Creates an integration on the broker at args[0] and gets its token twice. */
public final class Consumer {
  public static void main(String[] args) {
    TokenbrokerOptions options = TokenbrokerOptions.builder(args[0]).plaintext().build();
    try (TokenbrokerClient broker = TokenbrokerClient.create(options)) {
      broker.createIntegration(
          "demo",
          Integration.newBuilder()
              .setAuthMethod(AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER)
              .setClientId("c1")
              .setOrgId("ORG@AdobeOrg")
              .addScopes("openid")
              .setCredentials(Credentials.newBuilder().addClientSecrets("s1"))
              .build());
      Token once = broker.getAccessToken("demo");
      try (TokenSource source = broker.tokenSource("demo")) {
        Token cached = source.token();
        if (once.accessToken().isEmpty() || !cached.accessToken().equals(once.accessToken())) {
          throw new IllegalStateException("unexpected tokens");
        }
      }
      System.out.println("consumer: token for " + once.integration() + " until " + once.expireTime());
    }
  }
}
JAVA
(cd "$work/consumer" && mvn_ compile dependency:build-classpath -Dmdep.outputFile=cp.txt)

# --- A real broker and emulator on loopback ------------------------------------------------------
stack_start "$work/stack" c1 s1
broker_port="$BROKER_PORT"

(cd "$work/consumer" && java -cp "target/classes:$(cat cp.txt)" example.Consumer "127.0.0.1:$broker_port")
echo "dist_test.sh: $name installed from $out and used by a consumer project: OK"
