// Response compression: Accept-Encoding negotiation and a zlib round trip.
#include <hookstream/server/gzip.hpp>

#include <boost/test/unit_test.hpp>

#include <zlib.h>

namespace hs = hookstream::server;

namespace {
std::string gunzip(const std::string& in) {
  z_stream zs{};
  BOOST_REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out(in.size() * 20 + 1024, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  BOOST_REQUIRE(rc == Z_STREAM_END);
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(gzip)

BOOST_AUTO_TEST_CASE(negotiation) {
  BOOST_TEST(hs::accepts_gzip("gzip"));
  BOOST_TEST(hs::accepts_gzip("gzip, deflate, br"));
  BOOST_TEST(hs::accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  BOOST_TEST(hs::accepts_gzip("*"));
  BOOST_TEST(!hs::accepts_gzip(""));
  BOOST_TEST(!hs::accepts_gzip("identity"));
  BOOST_TEST(!hs::accepts_gzip("gzip;q=0"));
  BOOST_TEST(!hs::accepts_gzip("gzip; q=0.000"));
  BOOST_TEST(!hs::accepts_gzip("*, gzip;q=0"));
  BOOST_TEST(!hs::accepts_gzip("gzipped"));
}

BOOST_AUTO_TEST_CASE(round_trip) {
  std::string body;
  for (int i = 0; i < 500; ++i) body += R"({"id":"da_)" + std::to_string(i) + R"(","status":"success"},)";
  for (int level : {1, 6, 9}) {
    auto packed = hs::gzip_compress(body, level);
    BOOST_REQUIRE(packed.has_value());
    BOOST_TEST(packed->size() < body.size() / 4);
    BOOST_TEST(gunzip(*packed) == body);
  }
  BOOST_TEST(gunzip(*hs::gzip_compress("")) == "");
}

BOOST_AUTO_TEST_SUITE_END()
