#!/usr/bin/env bash
# Builds Abseil instrumented for ThreadSanitizer, for `make test-tsan`.
#
# Why: Debian's libabsl is not built with -fsanitize=thread, so TSan cannot see absl::Mutex
# lock and unlock and reports every access an absl::Mutex guards as a data race. This builds
# Debian's own Abseil source (the same release as libabsl-dev, with the installed options.h:
# inline namespace, std:: aliases) with clang -fsanitize=thread, as static libraries. Linked
# into an executable that exports its symbols, they also take the place of Debian's shared
# libabsl inside Debian's gRPC (see tests/tsan/README.md).
#
# Usage: build-abseil.sh PREFIX     installs into PREFIX; does nothing when PREFIX is complete.
set -euo pipefail

VERSION=20220623.1
URL="http://deb.debian.org/debian/pool/main/a/abseil/abseil_${VERSION}.orig.tar.gz"
SHA256=abfe2897f3a30edaa74bc34365afe3c2a3cd012091a97dc7e008f7016adcd5fe
OPTIONS_H=/usr/include/absl/base/options.h

prefix=${1:?usage: build-abseil.sh PREFIX}
prefix=$(mkdir -p "$prefix" && cd "$prefix" && pwd)
# The stamp names what was built: another Abseil release or options.h rebuilds.
stamp="$prefix/.built-$VERSION-$(sha256sum "$OPTIONS_H" | cut -c1-16)"
if [ -f "$stamp" ]; then
  exit 0
fi

installed=$(dpkg-query -W -f='${Version}' libabsl-dev 2>/dev/null || true)
case "$installed" in
  "$VERSION"-*) ;;
  *) echo "build-abseil.sh: libabsl-dev is '$installed', this script builds $VERSION" >&2; exit 1 ;;
esac

work="$prefix.work"
rm -rf "$work" && mkdir -p "$work"
tarball="$work/abseil_${VERSION}.orig.tar.gz"
echo "tsan: downloading $URL"
curl -fsSL --retry 3 -o "$tarball" "$URL"
echo "$SHA256  $tarball" | sha256sum -c --quiet -
tar -xzf "$tarball" -C "$work"
src="$work/abseil-$VERSION"
# Debian's configuration (inline namespace debian3, absl:: types instead of std:: aliases):
# the instrumented copy must be ABI-identical to libabsl, symbol for symbol.
cp "$OPTIONS_H" "$src/absl/base/options.h"

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$src" -B "$work/build" -G Ninja "${launcher[@]}" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_STANDARD=17 -DABSL_PROPAGATE_CXX_STD=ON \
  -DCMAKE_C_FLAGS="-fsanitize=thread" -DCMAKE_CXX_FLAGS="-fsanitize=thread" \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_TESTING=OFF -DABSL_ENABLE_INSTALL=ON \
  -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$work/build" -j "${JOBS:-$(nproc)}"
cmake --install "$work/build" >/dev/null
rm -rf "$work"
touch "$stamp"
echo "tsan: instrumented Abseil $VERSION in $prefix"
