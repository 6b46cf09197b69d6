#!/usr/bin/env bash
# A gateway consumes hookstream the two ways CMake offers, builds the example
# gateway (examples/embedded_gateway) and runs the gateway suite against it on
# the test database:
#
#   consumer_test.sh package BUILD SOURCE WORK GATEWAY_TESTS
#       `cmake --install` of BUILD into a prefix, then find_package(hookstream):
#       the package's version file (0.1 accepted; 0.0, 0.2 and 1.0 refused) and
#       hookstream/version.hpp agreeing with it;
#   consumer_test.sh source BUILD SOURCE WORK GATEWAY_TESTS
#       FetchContent of the SOURCE tree (add_subdirectory underneath) with
#       BUILD_SHARED_LIBS=ON: hookstream builds only its libraries, shared, and
#       the gateway runs on them.
set -euo pipefail
mode=$1 build=$2 source=$3 work=$4 gateway_tests=$5
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
rm -rf "$work" && mkdir -p "$work"
fail() { printf 'consumer test (%s) FAILED: %s\n' "$mode" "$*" >&2; exit 1; }

case "$mode" in
package)
  cmake --install "$build" --prefix "$work/prefix" >/dev/null
  [ -f "$work/prefix/include/hookstream/version.hpp" ] || fail "hookstream/version.hpp is not installed"

  # The version file: SameMinorVersion while hookstream is 0.x.
  mkdir -p "$work/version"
  cat >"$work/version/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.22)
project(version_check LANGUAGES CXX)
find_package(hookstream ${WANT} QUIET)
message(STATUS "hookstream ${WANT}: found=${hookstream_FOUND} version=${hookstream_VERSION}")
if(hookstream_FOUND)
  add_executable(version_check main.cpp)
  target_link_libraries(version_check PRIVATE hookstream::encoding)
  target_compile_definitions(version_check PRIVATE PACKAGE_VERSION="${hookstream_VERSION}")
  set_target_properties(version_check PROPERTIES CXX_STANDARD 20)
endif()
EOF
  cat >"$work/version/main.cpp" <<'EOF'
#include <hookstream/version.hpp>
#include <string_view>
static_assert(std::string_view(HOOKSTREAM_VERSION_STRING) == PACKAGE_VERSION, "version.hpp and the package disagree");
static_assert(HOOKSTREAM_VERSION == hookstream::version_major * 10000 + hookstream::version_minor * 100 +
                                        hookstream::version_patch);
int main() { return 0; }
EOF
  for want in 0.1 0.1.0 0.0 0.2 1.0; do
    out=$(cmake -S "$work/version" -B "$work/version-$want" -G Ninja -DWANT="$want" \
            -DCMAKE_PREFIX_PATH="$work/prefix" 2>&1) || fail "configuring with $want: $out"
    case "$want" in
      0.1*) grep -q "found=1 version=0.1" <<<"$out" || fail "find_package(hookstream $want) was refused"
            cmake --build "$work/version-$want" >/dev/null || fail "version.hpp disagrees with the package version" ;;
      *)    grep -q "found=0" <<<"$out" || fail "find_package(hookstream $want) accepted version 0.1" ;;
    esac
  done
  echo "package version file: 0.1 accepted; 0.0, 0.2, 1.0 refused"

  cmake -S "$source/examples/embedded_gateway" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" >/dev/null
  ;;
source)
  cmake -S "$source/examples/embedded_gateway" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DGATEWAY_HOOKSTREAM_SOURCE="$source" -DBUILD_SHARED_LIBS=ON "${launcher[@]}" >/dev/null
  ;;
*) fail "unknown mode" ;;
esac

cmake --build "$work/build" >/dev/null
gateway=$work/build/embedded_gateway
[ -x "$gateway" ] || fail "no gateway was built"

if [ "$mode" = source ]; then
  # Only the libraries came along, shared, and the gateway runs on them.
  needed=$(readelf -d "$gateway" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  grep -q '^libhookstream_server\.so\.0\.1$' <<<"$needed" || fail "the gateway does not link libhookstream_server.so.0.1: $needed"
  ldd "$gateway" | grep -q "$work/build/.*libhookstream_storage.so" || fail "the shared libraries do not resolve"
  found=$(find "$work/build" \( -name hookstream-server -o -name unit_tests -o -name hookstream-bench \) -type f)
  [ -z "$found" ] || fail "a subproject build built more than the libraries: $found"
  echo "source tree: libraries shared ($(tr '\n' ' ' <<<"$needed"| grep -o 'libhookstream[^ ]*' | tr '\n' ' '))"
fi

HOOKSTREAM_GATEWAY=$gateway "$gateway_tests" --log_level=test_suite
echo "consumer test ($mode) passed"
