# Fuzzing helpers for scripts/test --fuzz and scripts/fuzz. Source it after
# common.sh; do not run it.
#
# The libFuzzer targets (tests/fuzz/) are built with clang, ASan and UBSan into
# build-fuzz/. Each run reads the checked-in seed corpus (tests/fuzz/corpus/NAME)
# but writes what it discovers only to build-fuzz/fuzz-work/NAME/corpus, and any
# reproducer to build-fuzz/fuzz-work/NAME/artifacts/.

HOOKSTREAM_FUZZ_TARGETS=(list_query cursor session_cookie http_request json_string)
# clang 14 and its libFuzzer/sanitizer runtimes; llvm-symbolizer for readable stacks.
HOOKSTREAM_FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev llvm-14)
FUZZ_BUILD_DIR=$HOOKSTREAM_ROOT/build-fuzz

build_fuzzers() {
  ensure_packages "${HOOKSTREAM_FUZZ_PACKAGES[@]}"
  export CCACHE_DIR=${CCACHE_DIR:-$HOOKSTREAM_ROOT/var/ccache}
  if [ ! -f "$FUZZ_BUILD_DIR/build.ninja" ]; then
    cmake -S "$HOOKSTREAM_ROOT" -B "$FUZZ_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER=clang++-14 -DHOOKSTREAM_FUZZ=ON \
      -DHOOKSTREAM_BUILD_TESTS=OFF -DHOOKSTREAM_BUILD_BENCH=OFF >/dev/null
  fi
  log "building the fuzz targets (clang, ASan+UBSan) in ${FUZZ_BUILD_DIR#$HOOKSTREAM_ROOT/}"
  cmake --build "$FUZZ_BUILD_DIR" -j "$(nproc)" --target hookstream_fuzz
}

# The checked-in corpus once through every target, no mutation (ctest label fuzz).
replay_fuzz_corpus() {
  log "replaying the seed corpus"
  (cd "$FUZZ_BUILD_DIR" && ctest --output-on-failure -L fuzz)
}

# run_fuzzer NAME SECONDS: fuzzes one target; non-zero on a crash, leak, timeout
# or out-of-memory, after printing the end of its log and the reproducer's path.
run_fuzzer() {
  local name=$1 seconds=$2
  local bin=$FUZZ_BUILD_DIR/tests/fuzz/fuzz_$name work=$FUZZ_BUILD_DIR/fuzz-work/$name
  local dict=$HOOKSTREAM_ROOT/tests/fuzz/dict/$name.dict
  rm -rf "$work/artifacts"
  mkdir -p "$work/corpus" "$work/artifacts"
  local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
              -artifact_prefix="$work/artifacts/")
  [ -f "$dict" ] && args+=(-dict="$dict")
  # The handler logs every 503 to stderr; libFuzzer's own and the sanitizers'
  # reports still get through (libFuzzer keeps a copy of stderr for them).
  [ "$name" = http_request ] && args+=(-close_fd_mask=2)
  log "fuzzing $name for $seconds s"
  local rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$bin" "${args[@]}" "$work/corpus" "$HOOKSTREAM_ROOT/tests/fuzz/corpus/$name" >"$work/log" 2>&1 || rc=$?
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  if [ "$rc" -ne 0 ]; then
    tail -n 80 "$work/log" >&2
    printf 'fuzz_%s FAILED (exit %s); reproducer(s):\n' "$name" "$rc" >&2
    ls -1 "$work/artifacts"/* >&2 2>/dev/null || printf '  (none written; see %s)\n' "$work/log" >&2
    printf 'replay with: %s %s\n' "$bin" "$(ls -1 "$work/artifacts"/* 2>/dev/null | head -n 1)" >&2
    return 1
  fi
  printf 'fuzz_%s: %s s, %s inputs, no crash (corpus now %s files)\n' "$name" "$seconds" "${runs:-?}" \
    "$(ls -1 "$work/corpus" | wc -l)"
}

# run_fuzzers SECONDS [NAME...]: every target (or the ones named) in turn.
run_fuzzers() {
  local seconds=$1
  shift
  local names=("$@") name passed=0 failed=0
  [ ${#names[@]} -gt 0 ] || names=("${HOOKSTREAM_FUZZ_TARGETS[@]}")
  for name in "${names[@]}"; do
    if run_fuzzer "$name" "$seconds"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
  printf 'fuzz: %d passed, %d failed\n' "$passed" "$failed"
  [ "$failed" -eq 0 ]
}
