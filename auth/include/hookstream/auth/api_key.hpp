// hookstream API keys: `hs_live_<64 hex>` or `hs_test_<64 hex>`.
//
// The server never stores a key, only its SHA-256; `generate_api_key` exists for
// tools (demo data, the bench loader) that mint keys and print them once.
#pragma once

#include <hookstream/auth/digest.hpp>  // sha256, for the keys' hashes

#include <string>
#include <string_view>

namespace hookstream::auth {

/// True when `key` has the shape of an API key (prefix and 64 lowercase hex digits).
bool is_well_formed_api_key(std::string_view key) noexcept;

/// A new random key from the OS CSPRNG; `live` selects hs_live_ over hs_test_.
std::string generate_api_key(bool live = true);

}  // namespace hookstream::auth
