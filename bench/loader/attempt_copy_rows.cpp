#include "attempt_copy_rows.hpp"

#include "copy_fields.hpp"
#include "response_bodies.hpp"

#include <array>

namespace hookstream::bench_load {

void put_event_row(std::string& b, const Env& env, const Plan& p) {
  const Connection& c = env.conns[static_cast<std::size_t>(p.conn)];
  b.append(p.event_id);
  tab(b);
  b.append(env.org_id);
  tab(b);
  b.append(env.id);
  tab(b);
  put_copy_text(b, sources()[static_cast<std::size_t>(c.source)].types[static_cast<std::size_t>(p.type)]);
  tab(b);
  put_timestamp(b, p.t_event);
  endrow(b);
}

void put_attempt_rows(CopyStream& out, const Env& env, const Plan& p, Rng& r, Stats& st, AttemptScratch& s) {
  const Connection& c = env.conns[static_cast<std::size_t>(p.conn)];
  const Destination& d = env.dests[static_cast<std::size_t>(p.dest)];
  const char* event_type = sources()[static_cast<std::size_t>(c.source)].types[static_cast<std::size_t>(p.type)];
  const int n_attempts = p.chain + p.replay;
  const i64 body_size = 120 + static_cast<i64>(18'000.0 * std::pow(r.uniform(), 3.0));
  s.trace.clear();
  append_random_hex(s.trace, r, 32);

  // Attempt times: dispatch delay, then retries after ~30 s, ~5 min, ~30 min (±30%).
  std::array<i64, 5> at{};
  at[0] = p.dispatch;
  static constexpr i64 backoff_s[] = {30, 300, 1800};
  for (int n = 1; n < p.chain; ++n)
    at[static_cast<std::size_t>(n)] =
        at[static_cast<std::size_t>(n - 1)] +
        static_cast<i64>(static_cast<double>(backoff_s[n - 1] * us_per_s) * (1.0 + 0.3 * r.uniform()));
  if (p.replay)
    at[static_cast<std::size_t>(p.chain)] = at[static_cast<std::size_t>(p.chain - 1)] +
                                            3600 * us_per_s + static_cast<i64>(72'000.0 * us_per_s * r.uniform());
  // Keep every attempt before the reference instant: squeeze late chains.
  const i64 limit = t_ref - us_per_s - p.t_event;
  if (at[static_cast<std::size_t>(n_attempts - 1)] > limit) {
    const double f = static_cast<double>(limit) / static_cast<double>(at[static_cast<std::size_t>(n_attempts - 1)]);
    for (int n = 0; n < n_attempts; ++n) {
      at[static_cast<std::size_t>(n)] = static_cast<i64>(static_cast<double>(at[static_cast<std::size_t>(n)]) * f);
      if (n > 0 && at[static_cast<std::size_t>(n)] <= at[static_cast<std::size_t>(n - 1)])
        at[static_cast<std::size_t>(n)] = at[static_cast<std::size_t>(n - 1)] + 1;
    }
  }
  const i64 last_regular = p.t_event + at[static_cast<std::size_t>(p.chain - 1)];
  i64 dlq_at = last_regular + 31 * us_per_s + static_cast<i64>(9.0 * us_per_s * r.uniform());
  if (dlq_at >= t_ref) dlq_at = last_regular + (t_ref - last_regular) / 2;

  std::string& b = out.buf;
  for (int n = 1; n <= n_attempts; ++n) {
    const bool is_replay = n > p.chain;
    const bool last = n == p.chain;
    const i64 t = p.t_event + at[static_cast<std::size_t>(n - 1)];
    // This attempt's status.
    Outcome o = Outcome::failed;
    if (is_replay) o = Outcome::success;
    else if (last) o = p.outcome;
    const bool in_dlq = p.dlq && !is_replay;

    // The destination's answer.
    int http = 0;  // 0: no response (network error or still pending)
    const char* error = nullptr;
    std::string net_error;
    s.body.clear();
    bool has_body = false;
    const char* content_type = nullptr;
    i64 duration = 0;
    const double ud = r.uniform();
    if (o == Outcome::success) {
      const double u = r.uniform();
      http = u < 0.62 ? 200 : u < 0.72 ? 201 : u < 0.90 ? 202 : 204;
      has_body = true;
      if (http != 204) {
        const double ub = r.uniform();
        if (ub < 0.55) {
          s.body.append(R"({"ok":true,"id":")");
          s.body.append(d.ack_prefix);
          append_random_hex(s.body, r, 16);
          s.body.append("\"}");
        } else if (ub < 0.73) {
          s.body.append(R"({"received":true})");
        } else if (ub < 0.83) {
          s.body.append(R"({"status":"accepted","queued_at":")");
          put_rfc3339(s.body, t + 3000);
          s.body.append("\"}");
        } else if (ub < 0.955) {
          // empty 200
        } else if (ub < 0.99995) {
          body_processed_list(s.body, r, t);
        } else {  // a legacy endpoint answering binary garbage
          static constexpr unsigned char bin[] = {0xff, 0xfe, 0x00, 0x01, ' ',  'b',  'i',  'n',  'a',  'r',
                                                  'y',  ' ',  0x1b, '[',  '3',  '1',  'm',  0x00, 0x07, 0x08,
                                                  0x7f, 0x80, 0xc0, '\\', '\t', '\n', '\r', 0xc3, 0x28};
          s.body.append(reinterpret_cast<const char*>(bin), sizeof bin);
          for (int i = 0; i < 4; ++i) {
            const u64 v = r.next();
            s.body.append(reinterpret_cast<const char*>(&v), sizeof v);
          }
          content_type = "application/octet-stream";
        }
      }
      if (!content_type && !s.body.empty()) content_type = "application/json; charset=utf-8";
      duration = 20 + static_cast<i64>(880.0 * std::pow(ud, 2.2));
    } else if (o == Outcome::failed || o == Outcome::retrying) {
      const double u = r.uniform();
      http = u < 0.20 ? 500 : u < 0.32 ? 502 : u < 0.44 ? 503 : u < 0.50 ? 400 : u < 0.56 ? 404 : u < 0.60 ? 410
             : u < 0.66                                                                        ? 429
                                                                                                : 0;
      has_body = http != 0;
      switch (http) {
        case 500:
          if (r.chance(0.35)) body_stack_trace(s.body, r, static_cast<std::size_t>(r.range(900, 4000)));
          else {
            s.body.append(R"({"error":"internal_server_error","message":"Unhandled exception in webhook handler","request_id":"req_)");
            append_random_hex(s.body, r, 20);
            s.body.append("\"}");
          }
          content_type = "application/json; charset=utf-8";
          error = "HTTP 500 Internal Server Error";
          duration = 40 + static_cast<i64>(2460.0 * ud * ud);
          break;
        case 502:
          if (r.chance(0.5)) {
            body_cloudflare_page(s.body, r, 502, static_cast<std::size_t>(r.range(1500, 4000)));
          } else {
            s.body.append(
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
                "Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n");
          }
          content_type = "text/html; charset=utf-8";
          error = "HTTP 502 Bad Gateway";
          duration = 15 + static_cast<i64>(2985.0 * ud * ud * ud);
          break;
        case 503:
          if (r.chance(0.4)) {
            body_cloudflare_page(s.body, r, 503, static_cast<std::size_t>(r.range(1500, 4000)));
            content_type = "text/html; charset=utf-8";
          } else if (r.chance(0.5)) {
            s.body.append(R"({"error":"service_unavailable","retry_after":30})");
            content_type = "application/json; charset=utf-8";
          } else {
            s.body.append("upstream connect error or disconnect/reset before headers. reset reason: overflow");
            content_type = "text/plain";
          }
          error = "HTTP 503 Service Unavailable";
          duration = 5 + static_cast<i64>(195.0 * ud);
          break;
        case 400:
          s.body.append(R"({"error":"invalid_signature","message":"No signatures found matching the expected signature for payload"})");
          content_type = "application/json; charset=utf-8";
          error = "HTTP 400 Bad Request";
          duration = 10 + static_cast<i64>(290.0 * ud);
          break;
        case 404:
          s.body.append(R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><pre>Cannot )");
          s.body.append(d.method);
          s.body.push_back(' ');
          s.body.append(d.url.substr(d.url.find('/', 8)));
          s.body.append("</pre></body></html>");
          content_type = "text/html; charset=utf-8";
          error = "HTTP 404 Not Found";
          duration = 10 + static_cast<i64>(290.0 * ud);
          break;
        case 410:
          s.body.append(R"({"error":"gone","message":"This endpoint has been retired"})");
          content_type = "application/json; charset=utf-8";
          error = "HTTP 410 Gone";
          duration = 10 + static_cast<i64>(290.0 * ud);
          break;
        case 429:
          s.body.append(R"({"error":"rate_limited","message":"Too many requests","retry_after_ms":)");
          put_int(s.body, r.range(200, 5000));
          s.body.push_back('}');
          content_type = "application/json; charset=utf-8";
          error = "HTTP 429 Too Many Requests";
          duration = 5 + static_cast<i64>(95.0 * ud);
          break;
        default: {  // no HTTP response at all
          const double un = r.uniform();
          const std::string host = d.url.substr(8, d.url.find('/', 8) - 8);
          if (un < 0.45) {
            net_error = "connection timed out after 30000ms";
            duration = 30'000 + static_cast<i64>(60.0 * ud);
          } else if (un < 0.70) {
            net_error = "connect ECONNREFUSED 10.0." + std::to_string(r.range(1, 30)) + "." +
                        std::to_string(r.range(2, 251)) + ":443";
            duration = 1 + static_cast<i64>(39.0 * ud);
          } else if (un < 0.82) {
            net_error = "getaddrinfo ENOTFOUND " + host;
            duration = 2 + static_cast<i64>(118.0 * ud);
          } else if (un < 0.92) {
            net_error = "socket hang up";
            duration = 100 + static_cast<i64>(14'900.0 * ud);
          } else {
            net_error = "TLS handshake failed: certificate has expired";
            duration = 20 + static_cast<i64>(180.0 * ud);
          }
          error = net_error.c_str();
        }
      }
    }
    // pending: no response, no duration, no error.

    // --- id, org_id, env_id, event_id, connection_id, destination_id
    char da_id[35] = {'d', 'a', '_'};
    for (int k = 0; k < 2; ++k) {
      u64 v = r.next();
      for (int j = 15; j >= 0; --j, v >>= 4) da_id[3 + 16 * k + j] = "0123456789abcdef"[v & 15];
    }
    const std::string_view id(da_id, sizeof da_id);
    b.append(id);
    tab(b);
    b.append(env.org_id);
    tab(b);
    b.append(env.id);
    tab(b);
    b.append(p.event_id);
    tab(b);
    b.append(c.id);
    tab(b);
    b.append(d.id);
    tab(b);
    // --- request_url, request_method, request_headers, request_body_size
    put_copy_text(b, d.url);
    tab(b);
    b.append(d.method);
    tab(b);
    b.append(R"j({"content-type":"application/json","user-agent":"hookstream/1.4","content-length":")j");
    put_int(b, body_size);
    b.append(R"(","x-hookstream-event-id":")");
    b.append(p.event_id);
    b.append(R"(","x-hookstream-event-type":")");
    b.append(event_type);  // catalogue strings need no JSON or COPY escaping
    b.append(R"(","x-hookstream-delivery-id":")");
    b.append(id);
    b.append(R"(","x-hookstream-attempt":")");
    put_int(b, n);
    b.append(R"(","x-hookstream-timestamp":")");
    put_int(b, t / us_per_s);
    b.append(R"(","x-hookstream-signature":"v1,)");
    append_random_hex(b, r, 64);
    if (c.traced) {  // some senders propagate a W3C trace context
      b.append(R"(","traceparent":"00-)");
      b.append(s.trace);
      b.push_back('-');
      append_random_hex(b, r, 16);
      b.append("-01");
    }
    b.append("\"}");
    tab(b);
    put_int(b, body_size);
    tab(b);
    // --- response_status, response_headers, response_body, duration_ms
    if (http) put_int(b, http);
    else b.append(copy_null);
    tab(b);
    if (http) {
      b.push_back('{');
      if (content_type) {
        b.append(R"("content-type":")");
        b.append(content_type);
        b.append("\",");
      }
      b.append(R"("content-length":")");
      put_int(b, static_cast<i64>(s.body.size()));
      b.append(R"(","date":")");
      put_http_date(b, t + duration * 1000);
      b.append(R"(","server":")");
      b.append(http == 502 && content_type && s.body.size() < 300 ? "nginx/1.25.3" : d.server);
      b.append(R"(","connection":"keep-alive")");
      if (http == 503 || http == 429) b.append(R"(,"retry-after":"30")");
      b.append(R"(,"x-request-id":")");
      const u64 a = r.next(), z = r.next();
      append_hex_digits(b, a >> 32, 8);
      b.push_back('-');
      append_hex_digits(b, a >> 16, 4);
      b.push_back('-');
      append_hex_digits(b, a, 4);
      b.push_back('-');
      append_hex_digits(b, z >> 48, 4);
      b.push_back('-');
      append_hex_digits(b, z, 12);
      b.append("\"}");
    } else {
      b.append(copy_null);
    }
    tab(b);
    if (has_body) put_copy_bytea(b, s.body);
    else b.append(copy_null);
    tab(b);
    if (o == Outcome::pending) b.append(copy_null);
    else put_int(b, duration);
    tab(b);
    // --- status, error, created_at, attempt_number, next_retry_at
    b.append(o == Outcome::success ? "success" : o == Outcome::failed ? "failed" : o == Outcome::retrying ? "retrying"
                                                                                                          : "pending");
    tab(b);
    if (error) put_copy_text(b, error);
    else b.append(copy_null);
    tab(b);
    put_timestamp(b, t);
    tab(b);
    put_int(b, n);
    tab(b);
    if (!is_replay && !last) put_timestamp(b, p.t_event + at[static_cast<std::size_t>(n)]);
    else if (o == Outcome::retrying)
      put_timestamp(b, t + static_cast<i64>(static_cast<double>(backoff_s[std::min(n, 3) - 1] * us_per_s) *
                                            (1.0 + 0.3 * r.uniform())));
    else b.append(copy_null);
    tab(b);
    // --- is_dlq, dlq_at, trigger_type
    b.push_back(in_dlq ? '1' : '0');
    tab(b);
    if (in_dlq) put_timestamp(b, dlq_at);
    else b.append(copy_null);
    tab(b);
    b.append(is_replay ? "manual_replay" : n == 1 ? "event" : "retry");
    endrow(b);

    ++st.attempts;
    switch (o) {
      case Outcome::success: ++st.success; break;
      case Outcome::failed: ++st.failed; break;
      case Outcome::retrying: ++st.retrying; break;
      case Outcome::pending: ++st.pending; break;
    }
    st.dlq += in_dlq;
    st.body_bytes += s.body.size();
    st.empty_bodies += has_body && s.body.empty();
    st.big_bodies += s.body.size() >= 1000;
    out.row_done();
  }
}

}  // namespace hookstream::bench_load
