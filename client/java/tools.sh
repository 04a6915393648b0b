# Sourced by the Java SDK's scripts (test.sh, dist.sh, dist_test.sh, overhead.sh).
#
#   source "$here/tools.sh"
#   ensure_java_tools [extra-command ...]   # a JDK 17+, Maven, and e.g. openssl, if missing
#   mvn ... 2>&1 | strip_colours
#
# What is missing is installed as Debian packages (apt-get as root, sudo otherwise).

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

java_major() {
  javac -version 2>&1 | sed -n 's/^javac \([0-9]*\).*/\1/p'
}

# Maven 3.8 prints colour resets even with -B -q.
strip_colours() {
  sed -u 's/\x1b\[[0-9;]*m//g'
}

ensure_java_tools() {
  local missing=() pkg
  if ! command -v javac >/dev/null || [[ "$(java_major)" -lt 17 ]]; then
    missing+=(openjdk-17-jdk-headless)
  fi
  command -v mvn >/dev/null || missing+=(maven)
  for pkg in "$@"; do
    command -v "$pkg" >/dev/null || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}"
  fi
}
