// hookstream-bench-json: the JSON string kernels on the strings of a real page.
//
//   curl -s -H "X-API-Key: $KEY" "$URL/v1/delivery-attempts?limit=50" > page.json
//   build/bench/hookstream-bench-json page.json [rounds]
//
// Collects every string value of the page (in document order, as the server
// writes them), then writes them all with each kernel this CPU has, 200 times
// per round, and prints the best round of each, in microseconds per page. The
// kernels alternate within each round, so a slow spell of a noisy machine
// lands on both.
#include <hookstream/encoding/json_string.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace enc = hookstream::encoding;

namespace {

void collect_strings(const boost::json::value& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    out.emplace_back(v.get_string());
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) collect_strings(item, out);
  } else if (v.is_object()) {
    for (const auto& field : v.get_object()) collect_strings(field.value(), out);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PAGE.json [rounds]\n", argv[0]);
    return 2;
  }
  std::ifstream file(argv[1], std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  const boost::json::value page = boost::json::parse(text, ec);
  if (ec) {
    std::fprintf(stderr, "%s: not JSON: %s\n", argv[1], ec.message().c_str());
    return 1;
  }
  std::vector<std::string> strings;
  collect_strings(page, strings);
  std::size_t bytes = 0, room = 0;
  for (const auto& s : strings) {
    bytes += s.size();
    room += enc::json_string_room(s.size());
  }
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 30;
  constexpr int pages_per_round = 200;

  struct kernel_result {
    enc::json_string_kernel kernel;
    const char* name;
    double best_us = 1e300;
    std::size_t written = 0;
  };
  std::vector<kernel_result> kernels;
  for (auto k : enc::json_string_kernels)
    if (enc::json_string_kernel_available(k)) kernels.push_back({k, enc::json_string_kernel_name(k)});

  std::vector<char> out(room);
  for (int round = 0; round < rounds; ++round) {
    for (auto& k : kernels) {
      const auto start = std::chrono::steady_clock::now();
      char* end = nullptr;
      for (int i = 0; i < pages_per_round; ++i) {
        char* p = out.data();
        for (const auto& s : strings) p = enc::put_json_string(k.kernel, p, s);
        end = p;
      }
      const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
      k.best_us = std::min(k.best_us, took.count() / pages_per_round);
      k.written = static_cast<std::size_t>(end - out.data());
    }
  }
  std::printf("%zu strings, %zu bytes in, best of %d rounds of %d pages\n", strings.size(), bytes, rounds,
              pages_per_round);
  for (const auto& k : kernels)
    std::printf("%-9s %8.2f us per page  %7.0f MB/s  %zu bytes out\n", k.name, k.best_us,
                static_cast<double>(bytes) / k.best_us, k.written);
  for (std::size_t i = 1; i < kernels.size(); ++i)
    std::printf("%s / portable: %.2f\n", kernels[i].name, kernels[i].best_us / kernels[0].best_us);
  return 0;
}
