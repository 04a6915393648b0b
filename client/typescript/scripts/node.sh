# Sourced by client/typescript's scripts: installs Node.js and npm (Debian packages) when
# either is missing, as root or with sudo.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing Node.js (Debian packages nodejs npm)"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
