#!/usr/bin/env bash
# Installs the build BUILD into a fresh prefix and builds tests/consumer against it twice, as a
# user would: with find_package(procpool), and with pkg-config. Runs each program; exits
# non-zero on the first step that fails, saying which.
#   tests/consumer/check_install.sh BUILD
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/procpool-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

step() { echo "check_install: $*" >&2; }
step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/procpool include/procpool/pool.h include/procpool/version.h \
         lib/cmake/procpool/procpoolConfig.cmake lib/pkgconfig/procpool.pc; do
  [ -e "$prefix/$f" ] || { step "missing after install: $f"; exit 1; }
done
# The public headers stand alone: no wire protocol, no nlohmann_json, no other internal header.
if grep -rlE '#include [<"](nlohmann/|common/|cli/|worker/|fmt/|spdlog/)' "$prefix/include/procpool"; then
  step "a public header includes an internal or third-party header (above)"; exit 1
fi

step "find_package(procpool)"
cmake -S "$here" -B "$work/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
# The program finds the installed worker on PATH (this build was configured for another
# prefix, so "next to the library's install" names a place this check does not own).
env -i PATH="$prefix/bin:/usr/bin:/bin" "$work/cmake-build/consumer"

step "pkg-config procpool"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046
"${CXX:-g++}" -std=c++20 -o "$work/pc-consumer" "$here/main.cc" $(pkg-config --cflags --libs procpool)
env -i PATH=/usr/bin:/bin PROCPOOL_WORKER="$prefix/bin/procpool" "$work/pc-consumer"
step "ok"
