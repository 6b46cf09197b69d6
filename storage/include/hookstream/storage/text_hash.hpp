// The hash of the maps keyed by std::string that are searched by string_view
// (the statement cache, ttl_cache, the rate limiter's buckets): transparent,
// so a look-up allocates nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace hookstream::storage {

struct text_hash {
  using is_transparent = void;
  // Not noexcept, on purpose: libstdc++ keeps each node's hash code only when
  // the hasher may throw (or is one of its own slow ones). Without the kept
  // code, a look-up hashes again the key of every node it passes in its bucket
  // to tell where the bucket ends: about two hashes of the whole key per
  // look-up, measured on the names cache's 90-byte keys.
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace hookstream::storage
