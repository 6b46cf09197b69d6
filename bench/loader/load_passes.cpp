#include "load_passes.hpp"

#include "copy_fields.hpp"
#include "pg_session.hpp"
#include "progress.hpp"

#include <hookstream/auth/api_key.hpp>
#include <hookstream/encoding/hex.hpp>

namespace hookstream::bench_load {
namespace {

std::string bytea_literal(const hookstream::auth::sha256_digest& d) {
  return "\\\\x" + hookstream::encoding::to_hex(d);  // COPY text: \x... with the backslash escaped
}

std::string env_label(const Env& e) {
  return std::string(org_specs[e.spec->org].slug) + "/" + e.spec->name;
}

}  // namespace

std::string session_token(const Dataset& d) { return "bench-session-" + d.orgs.front().id; }

void load_catalog(PGconn* conn, const Dataset& d) {
  {
    CopyStream c(conn, R"(COPY "organization" ("id", "name", "slug", "logo", "createdAt", "metadata") FROM STDIN)");
    for (std::size_t o = 0; o < d.orgs.size(); ++o) {
      auto& b = c.buf;
      b += d.orgs[o].id + "\t";
      put_copy_text(b, org_specs[o].name);
      b += std::string("\t") + org_specs[o].slug + "\t\\N\t";
      put_timestamp(b, d.orgs[o].created_at);
      b += "\t\\N\n";
      c.row_done();
    }
    c.finish();
  }
  {
    CopyStream c(conn, R"(COPY "user" ("id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt") FROM STDIN)");
    for (std::size_t o = 0; o < d.orgs.size(); ++o) {
      auto& b = c.buf;
      b += d.orgs[o].user_id + "\t";
      put_copy_text(b, org_specs[o].owner_name);
      b += std::string("\t") + org_specs[o].owner_email + "\tt\t\\N\t";
      put_timestamp(b, d.orgs[o].created_at - 180 * us_per_s);
      tab(b);
      put_timestamp(b, d.orgs[o].created_at - 180 * us_per_s);
      endrow(b);
      c.row_done();
    }
    c.finish();
  }
  {
    CopyStream c(conn, R"(COPY "member" ("id", "organizationId", "userId", "role", "createdAt") FROM STDIN)");
    for (const auto& o : d.orgs) {
      c.buf += o.member_id + "\t" + o.id + "\t" + o.user_id + "\towner\t";
      put_timestamp(c.buf, o.created_at);
      endrow(c.buf);
      c.row_done();
    }
    c.finish();
  }
  {
    // A dashboard session of the hot org's owner, for the cookie scenario: the
    // token is derived from the org id (so from --seed) and never expires.
    const auto& hot_org = d.orgs.front();
    CopyStream c(conn, R"(COPY "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "userId", )"
                       R"("activeOrganizationId") FROM STDIN)");
    c.buf += "sess_" + hot_org.id + "\t2099-01-01 00:00:00+00\t" + session_token(d) + "\t";
    put_timestamp(c.buf, hot_org.created_at);
    tab(c.buf);
    put_timestamp(c.buf, hot_org.created_at);
    c.buf += "\t" + hot_org.user_id + "\t" + hot_org.id;
    endrow(c.buf);
    c.row_done();
    c.finish();
  }
  {
    CopyStream c(conn, "COPY environments (id, org_id, name, is_default, created_at) FROM STDIN");
    for (const auto& e : d.envs) {
      c.buf += e.id + "\t" + e.org_id + "\t" + e.spec->name + (e.spec->is_default ? "\tt\t" : "\tf\t");
      put_timestamp(c.buf, e.created_at);
      endrow(c.buf);
      c.row_done();
    }
    c.finish();
  }
  {
    CopyStream c(conn, "COPY connections (id, org_id, env_id, name, created_at) FROM STDIN");
    for (const auto& e : d.envs)
      for (const auto& x : e.conns) {
        c.buf += x.id + "\t" + e.org_id + "\t" + e.id + "\t";
        put_copy_text(c.buf, x.name);
        tab(c.buf);
        put_timestamp(c.buf, x.created_at);
        endrow(c.buf);
        c.row_done();
      }
    c.finish();
  }
  {
    CopyStream c(conn, "COPY destinations (id, org_id, env_id, name, url, created_at) FROM STDIN");
    for (const auto& e : d.envs)
      for (const auto& x : e.dests) {
        c.buf += x.id + "\t" + e.org_id + "\t" + e.id + "\t";
        put_copy_text(c.buf, x.name);
        tab(c.buf);
        put_copy_text(c.buf, x.url);
        tab(c.buf);
        put_timestamp(c.buf, x.created_at);
        endrow(c.buf);
        c.row_done();
      }
    c.finish();
  }
  {
    CopyStream c(conn, "COPY api_keys (id, org_id, env_id, name, key_hash, key_prefix, created_at) FROM STDIN");
    for (const auto& e : d.envs) {
      c.buf += e.key_id + "\t" + e.org_id + "\t" + e.id + "\tbench (" + e.spec->name + ")\t" +
               bytea_literal(hookstream::auth::sha256(e.api_key)) + "\t" + e.api_key.substr(0, 12) + "\t";
      put_timestamp(c.buf, e.created_at + 600 * us_per_s);
      endrow(c.buf);
      c.row_done();
    }
    c.finish();
  }
}

void load_events(PGconn* conn, Dataset& d) {
  for (auto& e : d.envs) {
    CopyStream c(conn, std::string("COPY events (id, org_id, env_id, event_type, created_at) FROM STDIN") +
                           (conn ? " WITH (FREEZE)" : ""));
    Progress pr("events " + env_label(e), e.target, "attempts");
    u64 covered = 0;
    u64 best_total = 0;  // the sample: the first event with the most attempts, 4 preferred from mid-range on
    bool mid_found = false;
    EventWalker(d.seed, e).run([&](const Plan& p, Rng&) {
      put_event_row(c.buf, e, p);
      c.row_done();
      const u64 total = static_cast<u64>(p.chain) + p.replay;
      e.conn_attempts[static_cast<std::size_t>(p.conn)] += total;
      e.dest_attempts[static_cast<std::size_t>(p.dest)] += total;
      if (!mid_found && (total > best_total || (total == 4 && covered >= e.target / 2))) {
        e.sample_event = p.event_id;
        best_total = total;
        mid_found = total == 4 && covered >= e.target / 2;
      }
      covered += total;
      if ((c.rows & 1023) == 0) pr.update(covered);
    });
    e.events = c.finish();
    if (e.events != c.rows) throw PgError("COPY events: server stored " + std::to_string(e.events) + " rows, sent " +
                                          std::to_string(c.rows));
    pr.done(covered, ("  (" + std::to_string(e.events) + " events)").c_str());
  }
}

Stats load_attempts(PGconn* conn, Dataset& d, std::vector<u64>& attempts_per_env) {
  Stats st;
  // COPY FREEZE refuses partitioned tables (migration 0004); then the load is
  // frozen by a VACUUM after the commit instead.
  bool partitioned = false;
  if (conn) {
    PGresult* r = PQexec(conn, "SELECT relkind = 'p' FROM pg_class WHERE oid = 'delivery_attempts'::regclass");
    partitioned = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
  }
  AttemptScratch scratch;
  for (auto& e : d.envs) {
    CopyStream c(conn,
                 std::string("COPY delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, "
                             "request_url, request_method, request_headers, request_body_size, response_status, "
                             "response_headers, response_body, duration_ms, status, error, created_at, "
                             "attempt_number, next_retry_at, is_dlq, dlq_at, trigger_type) FROM STDIN") +
                     (conn && !partitioned ? " WITH (FREEZE)" : ""));
    Progress pr("attempts " + env_label(e), e.target, "rows");
    const auto t0 = steady::now();
    EventWalker(d.seed, e).run([&](const Plan& p, Rng& r) {
      put_attempt_rows(c, e, p, r, st, scratch);
      pr.update(c.rows);
    });
    c.flush();
    const double sent_s = seconds_since(t0);
    pr.done(c.rows, "");
    std::fprintf(stderr, "  %.1f MB of COPY text in %.1f s; end of statement (counter trigger) ...",
                 static_cast<double>(c.bytes) / 1e6, sent_s);
    std::fflush(stderr);
    const auto t1 = steady::now();
    const u64 stored = c.finish();
    if (stored != e.target || c.rows != e.target)
      throw PgError("COPY delivery_attempts: expected " + std::to_string(e.target) + " rows, generated " +
                    std::to_string(c.rows) + ", server stored " + std::to_string(stored));
    attempts_per_env.push_back(stored);
    std::fprintf(stderr, " %.1f s\n", seconds_since(t1));
  }
  return st;
}

}  // namespace hookstream::bench_load
