// storage::text_hash: the hash of the caches keyed by text. Every byte and the
// length count, equal text hashes alike wherever it lies, and keys shaped like
// the names cache's spread over buckets.
#include <hookstream/storage/text_hash.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_set>
#include <vector>

using hookstream::storage::text_hash_of;

BOOST_AUTO_TEST_SUITE(text_hash)

BOOST_AUTO_TEST_CASE(equal_text_hashes_alike_wherever_it_lies) {
  const std::string a = "conn_0123456789abcdef0123456789abcdef";
  const std::string b = "xx" + a;
  BOOST_TEST(text_hash_of(a) == text_hash_of(std::string_view(b).substr(2)));
  BOOST_TEST(hookstream::storage::text_hash{}(a) == static_cast<std::size_t>(text_hash_of(a)));
  BOOST_TEST(text_hash_of("") == text_hash_of(std::string_view()));
}

// A byte the hash skipped would leave some change unseen: each length up to
// 100, each position, three different changes of its byte.
BOOST_AUTO_TEST_CASE(every_byte_and_the_length_count) {
  for (std::size_t n = 1; n <= 100; ++n) {
    std::string s(n, 'a');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    const auto base = text_hash_of(s);
    BOOST_TEST_REQUIRE(text_hash_of(s + '\0') != base, "length " << n << ": a trailing NUL is not seen");
    BOOST_TEST_REQUIRE(text_hash_of(std::string_view(s).substr(0, n - 1)) != base, "length " << n);
    for (std::size_t i = 0; i < n; ++i)
      for (const unsigned char flip : {0x01, 0x40, 0x80}) {
        std::string t = s;
        t[i] = static_cast<char>(static_cast<unsigned char>(t[i]) ^ flip);
        BOOST_TEST_REQUIRE(text_hash_of(t) != base, "length " << n << ", byte " << i << " ^ " << int(flip));
      }
  }
}

// 200,000 keys of the names cache's shape (kind, the tenant's number as 8
// bytes, id with a counter in hex): no two share a 64-bit hash, and their low
// ten bits fill 1,024 buckets evenly (about 195 each; a key ignored in part
// would pile up).
BOOST_AUTO_TEST_CASE(names_cache_keys_spread) {
  const std::uint64_t tenant_number = 3;
  std::string prefix = "c";
  prefix.append(reinterpret_cast<const char*>(&tenant_number), sizeof tenant_number);
  prefix += "conn_";
  std::unordered_set<std::uint64_t> seen;
  std::vector<int> buckets(1024, 0);
  char id[40];
  for (int i = 0; i < 200000; ++i) {
    std::snprintf(id, sizeof id, "%032x", i * 2654435761u);
    const auto h = text_hash_of(prefix + id);
    seen.insert(h);
    ++buckets[h & 1023];
  }
  BOOST_TEST(seen.size() == 200000u);
  const auto [least, most] = std::minmax_element(buckets.begin(), buckets.end());
  BOOST_TEST(*least > 120);
  BOOST_TEST(*most < 280);
}

BOOST_AUTO_TEST_SUITE_END()
