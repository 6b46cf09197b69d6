// API keys (shape, hashing, generation) and the credential a request presents.
#include <hookstream/encoding/hex.hpp>
#include <hookstream/auth/api_key.hpp>
#include <hookstream/auth/authenticator.hpp>

#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace auth = hookstream::auth;
namespace encoding = hookstream::encoding;

namespace {

const std::string hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string live_key = "hs_live_" + hex64;
const std::string test_key = "hs_test_" + hex64;

}  // namespace

BOOST_AUTO_TEST_SUITE(api_key)

// --- is_well_formed_api_key -----------------------------------------------------

BOOST_AUTO_TEST_CASE(well_formed_keys_accepted) {
  BOOST_TEST(hex64.size() == 64u);
  BOOST_TEST(auth::is_well_formed_api_key(live_key));
  BOOST_TEST(auth::is_well_formed_api_key(test_key));
  BOOST_TEST(auth::is_well_formed_api_key("hs_live_" + std::string(64, '0')));
  BOOST_TEST(auth::is_well_formed_api_key("hs_test_" + std::string(64, 'f')));
}

BOOST_AUTO_TEST_CASE(uppercase_hex_rejected) {
  BOOST_TEST(!auth::is_well_formed_api_key("hs_live_" + std::string(64, 'A')));
  std::string one_upper = live_key;
  one_upper.back() = 'F';
  BOOST_TEST(!auth::is_well_formed_api_key(one_upper));
  std::string first_upper = live_key;
  first_upper[8 + 10] = 'A';  // 'a' in the original
  BOOST_TEST(!auth::is_well_formed_api_key(first_upper));
}

BOOST_AUTO_TEST_CASE(wrong_lengths_rejected) {
  BOOST_TEST(!auth::is_well_formed_api_key("hs_live_" + hex64.substr(0, 63)));
  BOOST_TEST(!auth::is_well_formed_api_key("hs_live_" + hex64 + "0"));
  BOOST_TEST(!auth::is_well_formed_api_key("hs_test_" + hex64.substr(0, 63)));
  BOOST_TEST(!auth::is_well_formed_api_key("hs_test_" + hex64 + "a"));
  BOOST_TEST(!auth::is_well_formed_api_key("hs_live_"));
  BOOST_TEST(!auth::is_well_formed_api_key(live_key + " "));
  BOOST_TEST(!auth::is_well_formed_api_key(" " + live_key));
  BOOST_TEST(!auth::is_well_formed_api_key(live_key + "\n"));
}

BOOST_AUTO_TEST_CASE(other_prefixes_rejected) {
  for (std::string_view prefix : {"hs_prod_", "HS_LIVE_", "Hs_live_", "hs-live_", "sk_live_", "hs_livex", "xhs_live",
                                  "hs_tset_", "hs_live:"}) {
    BOOST_TEST_CONTEXT("prefix " << prefix) {
      BOOST_TEST(!auth::is_well_formed_api_key(std::string(prefix) + hex64));
    }
  }
  // No prefix at all, at the full length.
  BOOST_TEST(!auth::is_well_formed_api_key(hex64 + "01234567"));
}

BOOST_AUTO_TEST_CASE(empty_and_non_hex_rejected) {
  BOOST_TEST(!auth::is_well_formed_api_key(""));
  for (char bad : {'g', 'z', 'G', ' ', '-', '_', '\0', '\xC3'}) {
    BOOST_TEST_CONTEXT("character " << static_cast<int>(static_cast<unsigned char>(bad))) {
      std::string k = live_key;
      k[40] = bad;
      BOOST_TEST(k.size() == 72u);
      BOOST_TEST(!auth::is_well_formed_api_key(k));
    }
  }
}

// --- sha256 / to_hex ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sha256_known_vectors) {
  BOOST_TEST(encoding::to_hex(auth::sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(encoding::to_hex(auth::sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(encoding::to_hex(auth::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

BOOST_AUTO_TEST_CASE(sha256_raw_bytes) {
  const auto d = auth::sha256("abc");
  BOOST_TEST(d.size() == 32u);
  BOOST_TEST(d[0] == 0xba);
  BOOST_TEST(d[1] == 0x78);
  BOOST_TEST(d[31] == 0xad);
}

BOOST_AUTO_TEST_CASE(sha256_uses_the_whole_view) {
  // Embedded NUL bytes are hashed, not treated as a terminator.
  const std::string with_nul("abc\0def", 7);
  BOOST_TEST(encoding::to_hex(auth::sha256(with_nul)) != encoding::to_hex(auth::sha256("abc")));
  // A view into a larger buffer hashes only its own bytes.
  const std::string buffer = "abcdef";
  BOOST_TEST(encoding::to_hex(auth::sha256(std::string_view(buffer).substr(0, 3))) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(to_hex_is_lowercase_and_padded) {
  const std::array<std::uint8_t, 6> bytes{0x00, 0x0f, 0xf0, 0xff, 0xab, 0x5c};
  BOOST_TEST(encoding::to_hex(bytes) == "000ff0ffab5c");
  BOOST_TEST(encoding::to_hex(std::span(bytes.data(), 0)) == "");
}

// --- generate_api_key -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(generated_keys_are_well_formed) {
  const auto live = auth::generate_api_key(true);
  BOOST_TEST(live.size() == 72u);
  BOOST_TEST(live.substr(0, 8) == "hs_live_");
  BOOST_TEST(auth::is_well_formed_api_key(live), live);

  const auto test = auth::generate_api_key(false);
  BOOST_TEST(test.substr(0, 8) == "hs_test_");
  BOOST_TEST(auth::is_well_formed_api_key(test), test);

  const auto by_default = auth::generate_api_key();
  BOOST_TEST(by_default.substr(0, 8) == "hs_live_");
  BOOST_TEST(auth::is_well_formed_api_key(by_default), by_default);
}

BOOST_AUTO_TEST_CASE(generated_keys_are_distinct) {
  const auto a = auth::generate_api_key();
  const auto b = auth::generate_api_key();
  BOOST_TEST(a != b);
  const auto c = auth::generate_api_key(false);
  const auto d = auth::generate_api_key(false);
  BOOST_TEST(c != d);
  BOOST_TEST(a.substr(8) != c.substr(8));
}

// --- presented_api_key ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(x_api_key_wins_over_authorization) {
  const std::string other = "hs_test_" + std::string(64, 'e');
  const std::string bearer = "Bearer " + other;
  BOOST_TEST(auth::presented_api_key({live_key, bearer}) == live_key);
  BOOST_TEST(auth::presented_api_key({"garbage", bearer}) == "garbage");
}

BOOST_AUTO_TEST_CASE(x_api_key_alone) {
  BOOST_TEST(auth::presented_api_key({live_key, ""}) == live_key);
}

BOOST_AUTO_TEST_CASE(bearer_token_extracted) {
  const std::string k = live_key;
  BOOST_TEST(auth::presented_api_key({"", "Bearer " + k}) == k);
  BOOST_TEST(auth::presented_api_key({"", "bearer " + k}) == k);
  BOOST_TEST(auth::presented_api_key({"", "BEARER " + k}) == k);
  BOOST_TEST(auth::presented_api_key({"", "BeArEr " + k}) == k);
  BOOST_TEST(auth::is_well_formed_api_key(auth::presented_api_key({"", "Bearer " + k})));
}

BOOST_AUTO_TEST_CASE(whitespace_trimmed) {
  const std::string k = live_key;
  BOOST_TEST(auth::presented_api_key({"  " + k + " \t", ""}) == k);
  BOOST_TEST(auth::presented_api_key({"\t" + k, ""}) == k);
  BOOST_TEST(auth::presented_api_key({"", "  Bearer   " + k + "  "}) == k);
  BOOST_TEST(auth::presented_api_key({"", "Bearer \t" + k + "\t"}) == k);
  BOOST_TEST(auth::is_well_formed_api_key(auth::presented_api_key({"", " bearer  " + k + " "})));
}

BOOST_AUTO_TEST_CASE(nothing_presented) {
  BOOST_TEST(auth::presented_api_key({"", ""}).empty());
  BOOST_TEST(auth::presented_api_key({}).empty());
  BOOST_TEST(auth::presented_api_key({"", "   "}).empty());
}

BOOST_AUTO_TEST_CASE(other_schemes_present_an_invalid_value) {
  const auto basic = auth::presented_api_key({"", "Basic xyz"});
  BOOST_TEST(!basic.empty());
  BOOST_TEST(!auth::is_well_formed_api_key(basic));

  // "Bearer" with nothing after it, or glued to the key.
  const auto bare = auth::presented_api_key({"", "Bearer"});
  BOOST_TEST(!bare.empty());
  BOOST_TEST(!auth::is_well_formed_api_key(bare));
  const std::string glued_header = "Bearer" + live_key;
  const auto glued = auth::presented_api_key({"", glued_header});
  BOOST_TEST(!glued.empty());
  BOOST_TEST(!auth::is_well_formed_api_key(glued));

  // Bearer with an empty token: the header trims to the bare scheme, which is
  // presented (so the request fails as invalid, not as missing).
  const auto empty_token = auth::presented_api_key({"", "Bearer    "});
  BOOST_TEST(!empty_token.empty());
  BOOST_TEST(!auth::is_well_formed_api_key(empty_token));
}

// Only "Bearer" carries a key in Authorization: a bare well-formed key there is
// not accepted as one.
BOOST_AUTO_TEST_CASE(a_bare_key_in_authorization_is_not_a_bearer_token) {
  const auto bare_key = auth::presented_api_key({"", live_key});
  BOOST_TEST(!bare_key.empty());
  BOOST_TEST(!auth::is_well_formed_api_key(bare_key));
}

BOOST_AUTO_TEST_SUITE_END()
