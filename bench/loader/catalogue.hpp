// The fixed catalogue the data set draws from: webhook sources (with their event
// types), consuming services, regions, and the organisations and environments
// the loader creates.
#pragma once

#include <cstdint>
#include <iterator>
#include <vector>

namespace hookstream::bench_load {

struct Source {
  const char* name;
  const char* slug;
  const char* path;
  const char* method;
  std::vector<const char*> types;  ///< the most common first
};
const std::vector<Source>& sources();

struct Consumer {
  const char* name;
  const char* slug;
};
const std::vector<Consumer>& consumers();

inline constexpr const char* regions[] = {"us-east-1",    "us-east-2",      "us-west-2",      "eu-west-1",
                                          "eu-central-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"};
inline constexpr const char* servers[] = {"nginx", "cloudflare", "envoy", "gunicorn", "Vercel", "uvicorn", "Kestrel"};
inline constexpr const char* ack_prefixes[] = {"msg_", "rcpt_", "job_", "wh_", "ack_"};

struct OrgSpec {
  const char* name;
  const char* slug;
  const char* domain;
  const char* owner_name;
  const char* owner_email;
  int created_days_ago;
};

inline constexpr OrgSpec org_specs[] = {
    {"Acme Corp", "acme", "acme-corp.com", "Alice Nguyen", "alice@acme-corp.com", 259},
    {"Globex Inc", "globex", "globex.io", "Boris Petrov", "boris@globex.io", 179},
    {"Initech", "initech", "initech.dev", "Chidi Okafor", "chidi@initech.dev", 127},
};

struct EnvSpec {
  int org;  // index into org_specs
  const char* name;
  const char* label;  // prod / staging / dev
  bool is_default;
  int connections;
  std::uint64_t attempts;  // 0: --attempts
};

inline constexpr EnvSpec env_specs[] = {
    {0, "production", "prod", true, 300, 0},  // the hot environment: always first
    {0, "staging", "staging", false, 24, 50'000},
    {0, "development", "dev", false, 8, 10'000},
    {1, "production", "prod", true, 40, 50'000},
    {1, "staging", "staging", false, 12, 20'000},
    {2, "production", "prod", true, 30, 35'000},
};
inline constexpr int n_envs = static_cast<int>(std::size(env_specs));

}  // namespace hookstream::bench_load
