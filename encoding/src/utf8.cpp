#include <hookstream/encoding/utf8.hpp>

namespace hookstream::encoding {

std::size_t utf8_sequence_at(std::string_view s, std::size_t i, std::size_t& invalid) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) need = 2;
  else if (c == 0xE0) need = 3, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) need = 3;
  else if (c == 0xED) need = 3, hi = 0x9F;  // no UTF-16 surrogates
  else if (c >= 0xEE && c <= 0xEF) need = 3;
  else if (c == 0xF0) need = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) need = 4;
  else if (c == 0xF4) need = 4, hi = 0x8F;  // nothing above U+10FFFF
  else {
    invalid = 1;
    return 0;
  }
  std::size_t k = 1;
  for (; k < need; ++k) {
    if (i + k >= s.size()) break;
    const unsigned char b = byte(i + k);
    const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) break;
  }
  if (k == need) return need;
  invalid = k;  // the lead byte plus the valid continuation bytes seen so far
  return 0;
}

bool is_valid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t invalid = 0;
    const std::size_t len = utf8_sequence_at(s, i, invalid);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept {
  if (s.size() <= max_bytes) {
    if (s.size() < max_bytes) return s;  // nothing was cut from it
  } else {
    s = s.substr(0, max_bytes);
  }
  // Walk back over at most three continuation bytes to the lead byte of the
  // last sequence; drop that sequence if the cut left it incomplete.
  std::size_t lead = s.size();
  for (int back = 0; back < 3 && lead > 0 && (static_cast<unsigned char>(s[lead - 1]) & 0xC0) == 0x80; ++back)
    --lead;
  if (lead == 0) return s;
  const auto c = static_cast<unsigned char>(s[lead - 1]);
  const std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (c >= 0xC0 && s.size() - (lead - 1) < need) return s.substr(0, lead - 1);
  return s;
}

}  // namespace hookstream::encoding
