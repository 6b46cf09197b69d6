// HMAC-SHA-256 (auth/digest.hpp) against RFC 4231's test vectors, digests of
// parts, and the same answers from many threads at once (the SHA-256 vectors
// are in api_key_test).
#include <hookstream/auth/digest.hpp>
#include <hookstream/encoding/hex.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace auth = hookstream::auth;
namespace encoding = hookstream::encoding;

namespace {
std::string hex(const auth::sha256_digest& d) { return encoding::to_hex(d); }
}  // namespace

BOOST_AUTO_TEST_SUITE(digest)

BOOST_AUTO_TEST_CASE(sha256_of_parts_is_sha256_of_their_concatenation) {
  BOOST_TEST(hex(auth::sha256({"ab", "", "c"})) == hex(auth::sha256("abc")));
}

// RFC 4231, test cases 1, 2, 6 (a 131-byte key: hashed first) and 7.
BOOST_AUTO_TEST_CASE(hmac_matches_rfc_4231) {
  const std::string key1(20, '\x0b');
  BOOST_TEST(hex(auth::hmac_sha256_key(key1).sign("Hi There")) ==
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  BOOST_TEST(hex(auth::hmac_sha256_key("Jefe").sign("what do ya want for nothing?")) ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::string key131(131, '\xaa');
  BOOST_TEST(hex(auth::hmac_sha256_key(key131).sign("Test Using Larger Than Block-Size Key - Hash Key First")) ==
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  BOOST_TEST(hex(auth::hmac_sha256_key(key131).sign(
                 {"This is a test using a larger than block-size key and a larger than block-size data. ",
                  "The key needs to be hashed before being used by the HMAC algorithm."})) ==
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

// A key signs on many threads at once, each thread with its own context: every
// answer is the single-threaded one.
BOOST_AUTO_TEST_CASE(one_key_signs_on_many_threads) {
  const auth::hmac_sha256_key key("Jefe");
  const std::string expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  std::atomic<int> wrong = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (hex(key.sign("what do ya want for nothing?")) != expected) ++wrong;
        if (hex(auth::sha256("abc")) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(wrong.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
