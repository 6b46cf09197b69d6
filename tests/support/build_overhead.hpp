// How much slower, and how much bigger, the code under test runs in this build
// than in a plain one: for the few bounds that are about speed or memory (a
// stalled event loop, a peak RSS), not about behaviour.
//
// A ThreadSanitizer build (HOOKSTREAM_TSAN, scripts/test --tsan) instruments
// every memory access and keeps shadow memory for the heap; its manual gives
// 5-15x the run time and 5-10x the memory. Measured here with
// bounded_answers/heavy_pages_neither_stall_the_loop_nor_grow_memory (eight
// 4 MB pages at once, twice; 3-5 runs each): the longest event-loop stall
// was 9-14 ms in the Release build and 105-140 ms under TSan (clang 14), about
// 10x; peak RSS grew 104-117 MB and 346-367 MB, about 3.1x. (That test rounds
// its scaled stall bound, 500 ms, up to a bucket of the stall histogram: 1 s.)
// Other builds scale nothing.
#pragma once

namespace hookstream::test {

#if defined(HOOKSTREAM_TEST_TSAN)
inline constexpr int build_slowdown = 10;
inline constexpr int build_memory_overhead = 3;
#else
inline constexpr int build_slowdown = 1;
inline constexpr int build_memory_overhead = 1;
#endif

}  // namespace hookstream::test
