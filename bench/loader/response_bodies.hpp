// Response bodies that look like what webhook consumers answer: JSON error
// pages with stack traces, Cloudflare gateway pages, lists of processed items.
#pragma once

#include "seeded_random.hpp"

#include <cstddef>
#include <string>

namespace hookstream::bench_load {

/// A JSON 500 body with a Node stack trace, about `target` bytes.
void body_stack_trace(std::string& b, Rng& r, std::size_t target);
/// A Cloudflare 502/503/521 HTML page, about `target` bytes.
void body_cloudflare_page(std::string& b, Rng& r, int code, std::size_t target);
/// A JSON acknowledgement listing 12-70 processed items, received at `t`.
void body_processed_list(std::string& b, Rng& r, i64 t);

}  // namespace hookstream::bench_load
