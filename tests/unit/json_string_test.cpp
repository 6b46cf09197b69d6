// JSON string literals, kernel by kernel: hookstream/encoding/json_string.hpp.
// The escaping rules themselves are tested through the server's
// append_json_string in attempt_json_test; here every kernel this CPU has must
// write exactly what a byte-at-a-time reference writes, inside the room the
// header promises.
#include <hookstream/encoding/json_string.hpp>
#include <hookstream/encoding/utf8.hpp>

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace enc = hookstream::encoding;
using enc::json_string_kernel;

namespace {

const std::string fffd = "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER

// Written from the rules, one byte at a time: whatever falls on a block
// boundary (escapes, multi-byte characters cut by it, invalid bytes), the
// kernels must agree with it.
std::string reference_json_string(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      std::size_t bad = 0;
      if (const std::size_t len = enc::utf8_sequence_at(s, i, bad)) {
        out.append(s.substr(i, len));
        i += len;
      } else {
        out += fffd;
        i += bad;
      }
      continue;
    }
    static constexpr char hex[] = "0123456789abcdef";
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out + "\"";
}

std::vector<json_string_kernel> kernels() {
  std::vector<json_string_kernel> all;
  for (auto k : enc::json_string_kernels)
    if (enc::json_string_kernel_available(k)) all.push_back(k);
  return all;
}

// One kernel's literal for `s`. The input sits in a buffer of its exact size and
// the output in exactly json_string_room bytes, with a guard after it that must
// come back untouched (under ASan a stray access fails at once).
std::string written_by(json_string_kernel kernel, std::string_view s) {
  const auto input = std::make_unique<char[]>(s.size() + 1);
  std::memcpy(input.get(), s.data(), s.size());
  const std::size_t room = enc::json_string_room(s.size());
  constexpr std::size_t guard = 64;
  std::vector<char> out(room + guard, '\x5A');
  char* end = enc::put_json_string(kernel, out.data(), std::string_view(input.get(), s.size()));
  BOOST_REQUIRE(end > out.data());
  BOOST_REQUIRE_LE(static_cast<std::size_t>(end - out.data()), room);
  for (std::size_t i = room; i < out.size(); ++i) BOOST_REQUIRE_MESSAGE(out[i] == '\x5A', "wrote past the room");
  return std::string(out.data(), end);
}

void check_every_kernel(std::string_view s, const std::string& context) {
  const std::string expected = reference_json_string(s);
  for (auto k : kernels())
    BOOST_REQUIRE_MESSAGE(written_by(k, s) == expected, enc::json_string_kernel_name(k) << " kernel, input of " << s.size()
                                                                   << " bytes, " << context);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_string)

BOOST_AUTO_TEST_CASE(the_portable_kernel_is_always_there) {
  BOOST_TEST(enc::json_string_kernel_available(json_string_kernel::portable));
#if defined(__x86_64__)
  // Every x86-64 CPU of the last fifteen years has SSSE3, this machine too:
  // without it the fast kernel would go untested here.
  BOOST_TEST(enc::json_string_kernel_available(json_string_kernel::ssse3));
#endif
  // AVX-512 VBMI2 is not everywhere (Intel since Ice Lake, AMD since Zen 4):
  // say in the log whether this run checks that kernel.
  BOOST_TEST_MESSAGE("avx512 kernel "
                     << (enc::json_string_kernel_available(json_string_kernel::avx512) ? "checked" : "not on this CPU"));
}

BOOST_AUTO_TEST_CASE(the_default_writes_what_the_kernels_write) {
  const std::string s = "{\"content-type\":\"application/json\",\"x\":\"\xC3\xA9\\n\"}\t";
  const std::size_t room = enc::json_string_room(s.size());
  std::vector<char> out(room);
  char* end = enc::put_json_string(out.data(), s);
  BOOST_TEST(std::string(out.data(), end) == reference_json_string(s));
}

// Every length up to four blocks, each byte in turn a quote, so that an escape
// falls at every position of a block, of the last partial block, and of a
// string shorter than a block.
BOOST_AUTO_TEST_CASE(an_escape_at_every_position_of_every_length) {
  for (std::size_t n = 0; n <= 64; ++n) {
    const std::string plain(n, 'x');
    check_every_kernel(plain, "plain");
    for (std::size_t i = 0; i < n; ++i) {
      for (const char c : {'"', '\\', '\n', '\x01'}) {
        std::string s = plain;
        s[i] = c;
        check_every_kernel(s, "byte " + std::to_string(i) + " is " + std::to_string(static_cast<int>(c)));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(dense_escapes_fill_whole_blocks) {
  for (std::size_t n = 1; n <= 64; ++n) {
    check_every_kernel(std::string(n, '"'), "all quotes");
    check_every_kernel(std::string(n, '\\'), "all backslashes");
    check_every_kernel(std::string(n, '\x1F'), "all six-byte escapes");
  }
}

// The room's worst case: blocks of six-byte escapes, then a tail that a kernel
// writes with whole registers (past the end it returns).
BOOST_AUTO_TEST_CASE(the_room_holds_escapes_then_a_plain_tail) {
  for (std::size_t blocks = 1; blocks <= 3; ++blocks)
    for (std::size_t tail = 0; tail <= 16; ++tail)
      for (const char last : {'x', '"'})
        check_every_kernel(std::string(16 * blocks, '\x1F') + std::string(tail, last),
                           std::to_string(blocks) + " blocks of escapes, then " + std::to_string(tail));
}

// A multi-byte character cut by every block boundary, and ill-formed bytes at
// every position.
BOOST_AUTO_TEST_CASE(multi_byte_characters_across_block_boundaries) {
  for (const std::string ch : {"\xC3\xA9", "\xE2\x86\x92", "\xF0\x9F\x98\x80", "\xE2\x82", "\xFF", "\xED\xA0\x80"}) {
    for (std::size_t before = 0; before <= 40; ++before) {
      for (std::size_t after : {0, 1, 5, 15, 16, 17}) {
        const std::string s = std::string(before, 'a') + ch + std::string(after, '"');
        check_every_kernel(s, std::to_string(before) + " bytes before a character");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(agrees_with_a_byte_at_a_time_reference) {
  std::mt19937 rng(20261129);
  // Pieces that stress the scanner: plain text, escapes, characters of every
  // length, their fragments, and bytes that are never UTF-8.
  const std::vector<std::string> pieces{"a",  "hello world", "\"", "\\", "\n", std::string(1, '\0'), "\x1f",
                                        "\x7f", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xC3", "\xE2\x82",
                                        "\xF0\x9F\x98", "\x80", "\xBF", "\xFF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                        "{\"content-type\":\"application/json\"}"};
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    const int n = static_cast<int>(rng() % 24);
    for (int k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    check_every_kernel(s, "round " + std::to_string(round));
  }
}

BOOST_AUTO_TEST_SUITE_END()
