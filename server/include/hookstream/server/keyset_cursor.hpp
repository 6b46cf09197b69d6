// Opaque, tamper-proof keyset cursors (`next_cursor`, `prev_cursor`, `cursor=`).
//
// A cursor names a row's place in the listing order plus the position counted
// when it was made. Wire form: base64url (no padding) of
//   version(1) | direction(1) | created_at micros(8) | position(8) |
//   filter fingerprint(8) | id length(1) | id | MAC(16)
// where MAC = HMAC-SHA256(secret, everything before it | org | env), truncated.
// So a cursor cannot be forged or edited, only works for the tenant it was made
// for (another tenant's cursor fails the MAC, exactly like a forged one), and is
// bound to the filter set it was made for, time range included (the fingerprint
// says which, so that case gets its own message; value lists count as sets:
// order and repetition do not matter). `limit` is not bound: it may change
// between pages.
//
// Stream cursors (the live tail's `id:` and `Last-Event-ID`) are a second kind
// with their own version byte, so neither kind is accepted as the other:
//   version 0x81 | xid(8) | seq(8) | filter fingerprint(8) | MAC(16)
// naming a position in the event log (see storage/attempt_event_log.hpp), bound
// to the tenant and the filters like a listing cursor.
#pragma once

#include <hookstream/auth/digest.hpp>
#include <hookstream/storage/attempt_event_log.hpp>
#include <hookstream/storage/attempt_repository.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace hookstream::server {

enum class cursor_direction : std::uint8_t { next = 1, prev = 2 };

struct keyset_cursor {
  cursor_direction direction = cursor_direction::next;
  storage::keyset_position anchor;  ///< last row of the page (next) or first row (prev)
  std::int64_t position = 0;        ///< next: position of the page's first row; prev: of the anchor
};

enum class cursor_error {
  malformed,      ///< not base64url, wrong length, unknown version
  forged,         ///< MAC mismatch: edited, truncated, forged, or another tenant's
  other_filters,  ///< genuine, but made for a different filter set
};

/// A digest of a filter set: cursors carry it to tell "made for other filters"
/// apart from forged. Equal filter sets have equal fingerprints.
using filter_fingerprint = std::array<unsigned char, 8>;
filter_fingerprint fingerprint_of(const storage::attempt_filter& filter);

class cursor_codec {
 public:
  /// `secret` keys the MAC; every server (and thread) that may see a cursor needs
  /// the same one. Precondition: at least 16 bytes.
  explicit cursor_codec(std::string secret);

  std::string encode(const keyset_cursor& cursor, const storage::tenant_id& tenant,
                     const storage::attempt_filter& filter) const;
  std::variant<keyset_cursor, cursor_error> decode(std::string_view token, const storage::tenant_id& tenant,
                                                   const storage::attempt_filter& filter) const;

  /// True when `token` has the shape of a cursor of this version (alphabet,
  /// length, layout). Needs no secret and no tenant: lets a server refuse a
  /// malformed cursor before any authentication or database work. `decode`
  /// still decides whether it is genuine.
  static bool well_formed(std::string_view token);

  /// Stream cursors. `fingerprint` is fingerprint_of(the subscription's filters),
  /// computed once per subscriber rather than per event.
  std::string encode_stream(const storage::event_position& position, const storage::tenant_id& tenant,
                            const filter_fingerprint& fingerprint) const;
  std::variant<storage::event_position, cursor_error> decode_stream(std::string_view token,
                                                                    const storage::tenant_id& tenant,
                                                                    const filter_fingerprint& fingerprint) const;
  /// The shape check of `well_formed`, for stream cursors.
  static bool stream_well_formed(std::string_view token);

 private:
  auth::hmac_sha256_key key_;
};

/// 32 random bytes, hex: for servers started without a configured secret.
std::string random_cursor_secret();

}  // namespace hookstream::server
