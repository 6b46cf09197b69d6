// Writes the generated part of the seed corpus: real cursors and signed session
// cookies (made with the fixed secrets of fuzz_support.hpp), and HTTP requests
// that carry them. The hand-written seeds sit beside them in the same folders.
//
//   build-fuzz/tests/fuzz/make_fuzz_seeds tests/fuzz/corpus
//
// Run it again after changing the cursor format or the secrets, and commit the
// result. Output is deterministic: same files, same bytes.
#include "fuzz_support.hpp"

#include <hookstream/auth/session_cookie.hpp>
#include <hookstream/server/keyset_cursor.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {
namespace fs = std::filesystem;
namespace hs = hookstream::server;
namespace fz = hookstream::fuzz;

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  const hs::cursor_codec codec(fz::cursor_secret);
  const auto filters = fz::filter_sets();
  const std::string da_id = "da_0123456789abcdef0123456789abcdef";

  // Cursors: both directions for every filter set, ids of every length class,
  // and edge values of the time and the position.
  struct sample {
    const char* name;
    hs::keyset_cursor cursor;
  };
  const sample samples[] = {
      {"next", {hs::cursor_direction::next, {1795855192929123, da_id}, 50}},
      {"prev", {hs::cursor_direction::prev, {1795855192929123, da_id}, 1000000}},
      {"empty_id", {hs::cursor_direction::next, {0, ""}, 0}},
      {"long_id", {hs::cursor_direction::prev, {-1, std::string(128, 'x')}, INT64_MAX}},
      {"utf8_id", {hs::cursor_direction::next, {INT64_MIN, "da_\xC3\xBC\xE2\x82\xAC"}, 1}},
  };
  std::string first_next;
  for (std::size_t f = 0; f < filters.size(); ++f) {
    for (const auto& s : samples) {
      const std::string token = codec.encode(s.cursor, fz::tenant, filters[f]);
      if (first_next.empty()) first_next = token;
      write(root / "cursor", "gen_" + std::string(s.name) + "_filters" + std::to_string(f), token);
    }
  }
  write(root / "cursor", "gen_other_tenant",
        codec.encode(samples[0].cursor, fz::other_tenant, filters[0]));
  write(root / "cursor", "gen_other_secret",
        hs::cursor_codec("another-secret-of-16-bytes-or-more").encode(samples[0].cursor, fz::tenant, filters[0]));

  // Session cookies, alone and in Cookie headers of the shapes browsers send.
  const std::string token = "Yx3kQ9pLm2vB7nR4tW8zC1dF6gH0jK5s";
  const std::string signed_new = hookstream::auth::sign_session_cookie(token, fz::session_secrets[0]);
  const std::string signed_old = hookstream::auth::sign_session_cookie(token, fz::session_secrets[1]);
  const std::string signed_other = hookstream::auth::sign_session_cookie(token, "not-one-of-ours-0123456789abcdef");
  const fs::path cookies = root / "session_cookie";
  write(cookies, "gen_value_only", signed_new);
  write(cookies, "gen_plain", "better-auth.session_token=" + signed_new);
  write(cookies, "gen_rotated_secret", "better-auth.session_token=" + signed_old);
  write(cookies, "gen_wrong_secret", "better-auth.session_token=" + signed_other);
  write(cookies, "gen_secure_prefix", "__Secure-better-auth.session_token=" + signed_new);
  write(cookies, "gen_among_others",
        "theme=dark; better-auth.session_data=abc; better-auth.session_token=" + signed_new + "; lang=en");
  write(cookies, "gen_both_names",
        "__Secure-better-auth.session_token=" + signed_old + "; better-auth.session_token=" + signed_new);
  write(cookies, "gen_quoted", "better-auth.session_token=\"" + signed_new + "\"");
  write(cookies, "gen_blanks", " \tbetter-auth.session_token = " + signed_new + " ;");
  write(cookies, "gen_raw_signature",
        "better-auth.session_token=" + token + "." + signed_new.substr(signed_new.find('.') + 1));

  // HTTP requests carrying them.
  const fs::path http = root / "http_request";
  write(http, "gen_cookie_session",
        "GET /v1/delivery-attempts?limit=2 HTTP/1.1\r\nHost: api\r\nCookie: better-auth.session_token=" + signed_new +
            "\r\nX-Env-Id: env_fuzz\r\n\r\n");
  write(http, "gen_cookie_bad_env",
        "GET /v1/delivery-attempts HTTP/1.1\r\nHost: api\r\nCookie: better-auth.session_token=" + signed_new +
            "\r\nX-Env-Id: env;drop\r\n\r\n");
  write(http, "gen_cursor_query",
        "GET /v1/delivery-attempts?limit=10&cursor=" + first_next +
            " HTTP/1.1\r\nHost: api\r\nX-API-Key: hs_live_" + std::string(64, 'a') + "\r\n\r\n");
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
