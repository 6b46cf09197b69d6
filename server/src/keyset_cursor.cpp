#include <hookstream/encoding/base64.hpp>
#include <hookstream/encoding/hex.hpp>
#include <hookstream/server/keyset_cursor.hpp>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>

namespace hookstream::server {
namespace {

constexpr std::uint8_t cursor_version = 1;
constexpr std::size_t mac_size = 16;
constexpr std::size_t fixed_size = 1 + 1 + 8 + 8 + 8 + 1;  // before the id
constexpr std::size_t max_id_size = 128;  // the schema holds attempt ids to it (migration 0005)

void put64(std::string& s, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::uint64_t get64(std::string_view s) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[i]);
  return v;
}

constexpr std::uint8_t stream_cursor_version = 0x81;
constexpr std::size_t stream_payload_size = 1 + 8 + 8 + 8;

}  // namespace

// Canonical, unambiguous text of a filter set: length-prefixed values, each
// list as a sorted set (the same values in any order or repeated are the same
// filter), and the time range's bounds to the microsecond.
filter_fingerprint fingerprint_of(const storage::attempt_filter& f) {
  std::string canon;
  auto field = [&](char tag, std::vector<std::string> values) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    canon += tag;
    canon += std::to_string(values.size());
    for (const auto& v : values) {
      canon += ':';
      canon += std::to_string(v.size());
      canon += ':';
      canon += v;
    }
    canon += '|';
  };
  auto instant = [&](char tag, const std::optional<storage::unix_micros>& t) {
    canon += tag;
    if (t) canon += std::to_string(*t);
    canon += '|';
  };
  field('e', f.event_id);
  field('c', f.connection_id);
  field('d', f.destination_id);
  field('s', f.status);
  canon += f.in_dlq ? (*f.in_dlq ? "q1" : "q0") : "q";
  canon += '|';
  instant('a', f.created_after);
  instant('b', f.created_before);
  const auth::sha256_digest digest = auth::sha256(canon);
  filter_fingerprint out{};
  std::copy_n(digest.begin(), out.size(), out.begin());
  return out;
}

namespace {

// Signs the payload together with the tenant, so that a cursor of one tenant is
// forged in any other.
std::array<unsigned char, mac_size> mac(const auth::hmac_sha256_key& key, std::string_view payload,
                                        const storage::tenant_id& tenant) {
  const auth::sha256_digest full = key.sign({payload, std::string_view("\0", 1), tenant.org_id,
                                             std::string_view("\0", 1), tenant.env_id});
  std::array<unsigned char, mac_size> out{};
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

}  // namespace

cursor_codec::cursor_codec(std::string secret) : key_(secret) {
  if (secret.size() < 16) throw std::invalid_argument("cursor secret must be at least 16 bytes");
}

std::string cursor_codec::encode(const keyset_cursor& c, const storage::tenant_id& tenant,
                                 const storage::attempt_filter& filter) const {
  std::string raw;
  raw += static_cast<char>(cursor_version);
  raw += static_cast<char>(c.direction);
  put64(raw, static_cast<std::uint64_t>(c.anchor.created_at));
  put64(raw, static_cast<std::uint64_t>(c.position));
  const auto fp = fingerprint_of(filter);
  raw.append(reinterpret_cast<const char*>(fp.data()), fp.size());
  const std::string_view id = std::string_view(c.anchor.id).substr(0, max_id_size);
  raw += static_cast<char>(id.size());
  raw += id;
  const auto m = mac(key_, raw, tenant);
  raw.append(reinterpret_cast<const char*>(m.data()), m.size());
  return encoding::base64url_encode(raw);
}

namespace {
// The cursor's bytes when `token` has a cursor's shape; nullopt otherwise.
std::optional<std::string> cursor_bytes(std::string_view token) {
  if (token.size() > 4 * (fixed_size + max_id_size + mac_size) / 3 + 4) return std::nullopt;
  auto raw = encoding::base64url_decode(token);
  if (!raw) return std::nullopt;
  if (raw->size() < fixed_size + mac_size || static_cast<std::uint8_t>((*raw)[0]) != cursor_version)
    return std::nullopt;
  const std::size_t id_size = static_cast<std::uint8_t>((*raw)[fixed_size - 1]);
  if (raw->size() != fixed_size + id_size + mac_size) return std::nullopt;
  const auto direction = static_cast<std::uint8_t>((*raw)[1]);
  if (direction != static_cast<std::uint8_t>(cursor_direction::next) &&
      direction != static_cast<std::uint8_t>(cursor_direction::prev))
    return std::nullopt;
  return raw;
}
}  // namespace

bool cursor_codec::well_formed(std::string_view token) { return cursor_bytes(token).has_value(); }

std::variant<keyset_cursor, cursor_error> cursor_codec::decode(std::string_view token,
                                                               const storage::tenant_id& tenant,
                                                               const storage::attempt_filter& filter) const {
  const auto decoded = cursor_bytes(token);
  if (!decoded) return cursor_error::malformed;
  const std::string& raw = *decoded;
  const std::size_t id_size = static_cast<std::uint8_t>(raw[fixed_size - 1]);

  const std::string_view payload(raw.data(), fixed_size + id_size);
  const auto expected = mac(key_, payload, tenant);
  if (CRYPTO_memcmp(expected.data(), raw.data() + payload.size(), mac_size) != 0) return cursor_error::forged;

  const auto fp = fingerprint_of(filter);
  if (!std::equal(fp.begin(), fp.end(), reinterpret_cast<const unsigned char*>(raw.data()) + 18))
    return cursor_error::other_filters;

  keyset_cursor c;
  c.direction = static_cast<cursor_direction>(static_cast<std::uint8_t>(raw[1]));
  c.anchor.created_at = static_cast<std::int64_t>(get64(std::string_view(raw).substr(2)));
  c.position = static_cast<std::int64_t>(get64(std::string_view(raw).substr(10)));
  c.anchor.id.assign(raw.data() + fixed_size, id_size);
  if (c.position < 0) return cursor_error::malformed;
  return c;
}

std::string cursor_codec::encode_stream(const storage::event_position& position, const storage::tenant_id& tenant,
                                        const filter_fingerprint& fingerprint) const {
  std::string raw;
  raw.reserve(stream_payload_size + mac_size);
  raw += static_cast<char>(stream_cursor_version);
  put64(raw, position.xid);
  put64(raw, static_cast<std::uint64_t>(position.seq));
  raw.append(reinterpret_cast<const char*>(fingerprint.data()), fingerprint.size());
  const auto m = mac(key_, raw, tenant);
  raw.append(reinterpret_cast<const char*>(m.data()), m.size());
  return encoding::base64url_encode(raw);
}

namespace {
std::optional<std::string> stream_cursor_bytes(std::string_view token) {
  if (token.size() > 4 * (stream_payload_size + mac_size) / 3 + 4) return std::nullopt;
  auto raw = encoding::base64url_decode(token);
  if (!raw || raw->size() != stream_payload_size + mac_size ||
      static_cast<std::uint8_t>((*raw)[0]) != stream_cursor_version)
    return std::nullopt;
  return raw;
}
}  // namespace

bool cursor_codec::stream_well_formed(std::string_view token) { return stream_cursor_bytes(token).has_value(); }

std::variant<storage::event_position, cursor_error> cursor_codec::decode_stream(
    std::string_view token, const storage::tenant_id& tenant, const filter_fingerprint& fingerprint) const {
  const auto decoded = stream_cursor_bytes(token);
  if (!decoded) return cursor_error::malformed;
  const std::string& raw = *decoded;
  const std::string_view payload(raw.data(), stream_payload_size);
  const auto expected = mac(key_, payload, tenant);
  if (CRYPTO_memcmp(expected.data(), raw.data() + stream_payload_size, mac_size) != 0) return cursor_error::forged;
  if (!std::equal(fingerprint.begin(), fingerprint.end(), reinterpret_cast<const unsigned char*>(raw.data()) + 17))
    return cursor_error::other_filters;
  storage::event_position p;
  p.xid = get64(std::string_view(raw).substr(1));
  p.seq = static_cast<std::int64_t>(get64(std::string_view(raw).substr(9)));
  if (p.seq < 0) return cursor_error::malformed;
  return p;
}

std::string random_cursor_secret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return encoding::to_hex(bytes);
}

}  // namespace hookstream::server
