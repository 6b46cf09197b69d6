#include "dataset.hpp"

#include <numeric>

namespace hookstream::bench_load {

Dataset build_dataset(u64 seed, u64 hot_attempts) {
  Dataset d;
  d.seed = seed;
  for (std::size_t o = 0; o < std::size(org_specs); ++o) {
    Rng r(derive(seed, 0x0e9, o));
    Org org;
    org.id = random_id("org_", r, 24);
    org.user_id = random_id("", r, 32);
    org.member_id = random_id("", r, 32);
    org.created_at = t_ref - org_specs[o].created_days_ago * us_per_day + r.range(0, 86'399) * us_per_s +
                     r.range(0, 999) * 1000;
    d.orgs.push_back(std::move(org));
  }
  const auto& srcs = sources();
  const auto& cons = consumers();
  for (int e = 0; e < n_envs; ++e) {
    const EnvSpec& s = env_specs[e];
    const OrgSpec& os = org_specs[s.org];
    Rng r(derive(seed, 0xe9f, static_cast<u64>(e)));
    Env env;
    env.spec = &s;
    env.index = e;
    env.id = random_id("env_", r, 24);
    env.org_id = d.orgs[static_cast<std::size_t>(s.org)].id;
    env.target = s.attempts ? s.attempts : hot_attempts;
    env.created_at = d.orgs[static_cast<std::size_t>(s.org)].created_at + (e % 3) * 7 * us_per_day + 60 * us_per_s;
    env.key_id = random_id("key_", r, 24);
    env.api_key = random_id("hs_live_", r, 64);

    // Distinct (source, consumer) pairs, shuffled.
    std::vector<int> pairs(srcs.size() * cons.size());
    std::iota(pairs.begin(), pairs.end(), 0);
    for (std::size_t i = pairs.size() - 1; i > 0; --i) std::swap(pairs[i], pairs[r.below(i + 1)]);
    const int n = s.connections;
    const bool prod = std::string_view(s.label) == "prod";
    const bool dev = std::string_view(s.label) == "dev";
    const char* env_region = regions[r.below(std::size(regions))];
    for (int k = 0; k < n; ++k) {
      const int src = pairs[static_cast<std::size_t>(k)] / static_cast<int>(cons.size());
      const int con = pairs[static_cast<std::size_t>(k)] % static_cast<int>(cons.size());
      const Source& so = srcs[static_cast<std::size_t>(src)];
      const Consumer& co = cons[static_cast<std::size_t>(con)];
      const char* region = prod ? regions[r.below(std::size(regions))] : env_region;
      const i64 created = env.created_at + (k + 1) * 3 * 3600 * us_per_s + r.range(0, 3599) * us_per_s;

      Connection c;
      c.id = random_id("conn_", r, 24);
      c.name = std::string(so.name) + " \xe2\x86\x92 " + co.name;  // "Stripe → Billing service"
      if (prod && n > 50) c.name += std::string(" (") + region + ")";
      c.source = src;
      c.traced = r.chance(0.3);
      c.created_at = created;
      c.dests.push_back(k);  // every connection has its own primary destination
      env.conns.push_back(std::move(c));

      Destination dst;
      dst.id = random_id("dst_", r, 24);
      dst.name = std::string(co.slug) + "-" + so.slug + " (" + s.label + (prod ? std::string(", ") + region : "") + ")";
      if (prod)
        dst.url = std::string("https://") + co.slug + "." + region + "." + os.domain + so.path;
      else if (dev)
        dst.url = std::string("https://") + co.slug + "-" + random_id("", r, 6) + ".ngrok-free.app" + so.path;
      else
        dst.url = std::string("https://") + co.slug + ".staging." + os.domain + so.path;
      dst.method = so.method;
      dst.server = servers[r.below(std::size(servers))];
      dst.ack_prefix = ack_prefixes[r.below(std::size(ack_prefixes))];
      dst.created_at = created - r.range(60, 3600) * us_per_s;
      env.dests.push_back(std::move(dst));
    }
    // Fan-in: half the connections also route some event types to one or two
    // other destinations (an audit log, a data lake, ...).
    for (int k = 0; k < n && n > 1; ++k) {
      const double u = r.uniform();
      const int extra = u < 0.5 ? 0 : u < 0.85 ? 1 : 2;
      auto& ds = env.conns[static_cast<std::size_t>(k)].dests;
      for (int x = 0; x < extra && static_cast<int>(ds.size()) < std::min(3, n); ++x) {
        int j;
        do j = static_cast<int>(r.below(static_cast<u64>(n)));
        while (std::find(ds.begin(), ds.end(), j) != ds.end());
        ds.push_back(j);
      }
    }
    // Traffic: Zipf-like (exponent 0.9) over a random ranking of the connections.
    std::vector<int> rank(static_cast<std::size_t>(n));
    std::iota(rank.begin(), rank.end(), 0);
    for (std::size_t i = rank.size() - 1; i > 0; --i) std::swap(rank[i], rank[r.below(i + 1)]);
    double sum = 0;
    env.conn_cdf.resize(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) {
      sum += 1.0 / std::pow(rank[static_cast<std::size_t>(k)] + 1.0, 0.9);
      env.conn_cdf[static_cast<std::size_t>(k)] = sum;
    }
    for (auto& v : env.conn_cdf) v /= sum;
    env.conn_attempts.assign(static_cast<std::size_t>(n), 0);
    env.dest_attempts.assign(static_cast<std::size_t>(n), 0);
    d.envs.push_back(std::move(env));
  }
  return d;
}

}  // namespace hookstream::bench_load
