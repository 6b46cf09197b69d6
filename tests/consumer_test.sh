#!/usr/bin/env bash
# Proves find_package(hookstream) works: installs the build into a temporary
# prefix, builds examples/embedded_gateway against it, and runs its self-test.
set -euo pipefail
build=$1 source=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$source/examples/embedded_gateway" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
out=$("$work/build/embedded_gateway" "postgresql://nobody@127.0.0.1:1/none" --self-test)
echo "$out"
grep -q "^/gateway/hello -> 200" <<<"$out"
grep -q "^/healthz -> 200" <<<"$out"
grep -q "^/v1/delivery-attempts -> 401" <<<"$out"
echo "consumer test passed"
