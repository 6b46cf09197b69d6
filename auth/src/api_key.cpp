#include <hookstream/auth/api_key.hpp>
#include <hookstream/encoding/hex.hpp>

#include <openssl/rand.h>

#include <stdexcept>

namespace hookstream::auth {

bool is_well_formed_api_key(std::string_view key) noexcept {
  constexpr std::size_t prefix_len = 8;  // "hs_live_" / "hs_test_"
  if (key.size() != prefix_len + 64) return false;
  if (!key.starts_with("hs_live_") && !key.starts_with("hs_test_")) return false;
  for (char c : key.substr(prefix_len))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string generate_api_key(bool live) {
  std::uint8_t random[32];
  if (RAND_bytes(random, sizeof random) != 1) throw std::runtime_error("RAND_bytes failed");
  return std::string(live ? "hs_live_" : "hs_test_") + encoding::to_hex(random);
}

}  // namespace hookstream::auth
