// Lowercase hexadecimal, the one spelling of bytes as hex in hookstream
// (key hashes, request ids, secrets, test ids).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hookstream::encoding {

/// Appends two lowercase hex digits per byte.
void append_hex(std::string& out, std::span<const std::uint8_t> bytes);

/// Lowercase hex of `bytes` (two digits each).
inline std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string s;
  append_hex(s, bytes);
  return s;
}
inline std::string to_hex(std::string_view bytes) {
  return to_hex({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

/// The bytes of an even-length hex string (either case); nullopt otherwise.
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace hookstream::encoding
