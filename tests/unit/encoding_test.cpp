// The shared text encodings: hex, base64 (both alphabets), percent-decoding and
// the ASCII token helpers.
#include <hookstream/encoding/ascii.hpp>
#include <hookstream/encoding/base64.hpp>
#include <hookstream/encoding/hex.hpp>
#include <hookstream/encoding/percent.hpp>

#include <boost/test/unit_test.hpp>

#include <array>
#include <random>

namespace enc = hookstream::encoding;

BOOST_AUTO_TEST_SUITE(encoding)

BOOST_AUTO_TEST_CASE(hex_round_trips_and_refuses_bad_digits) {
  BOOST_TEST(enc::to_hex(std::string_view("\x00\x7f\x80\xff", 4)) == "007f80ff");
  BOOST_TEST(enc::from_hex("007F80ff").value() == std::string("\x00\x7f\x80\xff", 4));
  BOOST_TEST(!enc::from_hex("abc"));
  BOOST_TEST(!enc::from_hex("zz"));
  BOOST_TEST(enc::from_hex("").value().empty());
}

BOOST_AUTO_TEST_CASE(base64_standard_matches_rfc_4648_vectors) {
  const std::array<std::pair<const char*, const char*>, 7> vectors{{{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}}};
  for (const auto& [plain, encoded] : vectors) BOOST_TEST(enc::base64_encode(plain) == encoded);
  BOOST_TEST(enc::base64_encode("\xfb\xff") == "+/8=");
}

BOOST_AUTO_TEST_CASE(base64url_round_trips_random_bytes) {
  std::mt19937 rng(7);
  for (int n = 0; n < 200; ++n) {
    std::string bytes(static_cast<std::size_t>(n), '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    const std::string text = enc::base64url_encode(bytes);
    BOOST_TEST(text.find_first_of("+/=") == std::string::npos);
    BOOST_TEST(enc::base64url_decode(text).value() == bytes);
  }
}

BOOST_AUTO_TEST_CASE(base64url_refuses_what_no_encoder_writes) {
  BOOST_TEST(!enc::base64url_decode("Zg="));    // padding
  BOOST_TEST(!enc::base64url_decode("Z+8"));    // standard alphabet
  BOOST_TEST(!enc::base64url_decode("Zm9vY"));  // impossible length
  BOOST_TEST(!enc::base64url_decode("Zh"));     // non-zero leftover bits ("Zg" is canonical)
  BOOST_TEST(enc::base64url_decode("Zg").value() == "f");
}

BOOST_AUTO_TEST_CASE(percent_decoding) {
  BOOST_TEST(enc::percent_decode("a%20b+c", true).value() == "a b c");
  BOOST_TEST(enc::percent_decode("a+b", false).value() == "a+b");
  BOOST_TEST(enc::percent_decode("%41%4a%4A", false).value() == "AJJ");
  BOOST_TEST(!enc::percent_decode("%4", false));
  BOOST_TEST(!enc::percent_decode("%zz", false));
  BOOST_TEST(!enc::percent_decode("%", false));
}

BOOST_AUTO_TEST_CASE(ascii_helpers) {
  BOOST_TEST(enc::trim_blanks(" \t a b \t") == "a b");
  BOOST_TEST(enc::trim_blanks("   ").empty());
  BOOST_TEST(enc::trim_trailing_whitespace("msg\r\n ") == "msg");
  BOOST_TEST(enc::iequals("Gzip", "gZIP"));
  BOOST_TEST(!enc::iequals("gzip", "gzip "));
  BOOST_TEST(enc::istarts_with("Bearer abc", "bearer "));
  BOOST_TEST(!enc::istarts_with("Bear", "bearer "));
}

BOOST_AUTO_TEST_SUITE_END()
