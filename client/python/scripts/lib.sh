# Shared by generate.sh and test.sh (sourced, not run).

# apt_install PKG...: installs Debian packages (apt-get as root, else sudo).
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing Debian packages: $*" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# make_venv DIR: a fresh virtual environment from $PYTHON (default python3),
# installing Debian's python3-venv first when the interpreter cannot make one.
make_venv() {
  local python="${PYTHON:-python3}"
  if ! command -v "$python" >/dev/null; then
    apt_install python3 python3-venv
  elif ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
  fi
  "$python" -c 'import sys; assert sys.version_info >= (3, 9), "Python 3.9+ needed"'
  rm -rf "$1"
  "$python" -m venv "$1"
}
