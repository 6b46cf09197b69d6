// Shared by the fuzz targets and the seed maker: the invariant check, an
// independent UTF-8 validator, and the fixed secrets and tenants the checked-in
// seed corpus was made with (change them and run make_fuzz_seeds again).
#pragma once

#include <hookstream/storage/attempt_repository.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// A broken invariant is a crash for libFuzzer: abort() leaves a reproducer and a
// stack trace that points at the check (the message itself is lost when a run
// closes stderr with -close_fd_mask=2; replaying the reproducer shows it).
#define FUZZ_CHECK(cond, what)                                                      \
  do {                                                                             \
    if (!(cond)) ::hookstream::fuzz::invariant_failed(__FILE__, __LINE__, #cond, what); \
  } while (0)

namespace hookstream::fuzz {

[[noreturn]] inline void invariant_failed(const char* file, int line, const char* cond, std::string_view what) {
  std::fprintf(stderr, "%s:%d: invariant violated: %.*s (%s)\n", file, line, static_cast<int>(what.size()),
               what.data(), cond);
  std::abort();
}

/// Strict UTF-8 (RFC 3629, as PostgreSQL checks it): no overlong forms, no
/// surrogates, nothing past U+10FFFF. Written here on purpose, so that the
/// library's own validator is checked against something else.
inline bool strict_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// --- What the seed corpus was made with ----------------------------------------

inline const std::string cursor_secret = "hookstream-fuzz-cursor-secret-0123456789";
inline const storage::tenant_id tenant{"org_fuzz", "env_fuzz"};
inline const storage::tenant_id other_tenant{"org_other", "env_fuzz"};

/// The filter sets cursors are decoded against (seeds exist for each).
inline std::vector<storage::attempt_filter> filter_sets() {
  std::vector<storage::attempt_filter> sets(4);
  sets[1].status = {"failed"};
  sets[2].event_id = {"evt_1"};
  sets[2].in_dlq = true;
  sets[3].event_id = {"evt_\xC3\xBC"};
  sets[3].connection_id = {"conn_1"};
  sets[3].destination_id = {"dst_1"};
  sets[3].status = {"retrying"};
  sets[3].in_dlq = false;
  return sets;
}

/// Session secrets: the first signs, both verify (rotation).
inline const std::vector<std::string> session_secrets{"hookstream-fuzz-session-secret-0123456789abcdef",
                                                      "hookstream-fuzz-old-session-secret-0123456789"};

/// The one browser origin the handler target allows (CORS).
inline const std::string cors_origin = "https://dashboard.example.com";

}  // namespace hookstream::fuzz
