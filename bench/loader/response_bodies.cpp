#include "response_bodies.hpp"

#include "copy_fields.hpp"

#include <iterator>

namespace hookstream::bench_load {
namespace {

constexpr const char* stack_frames[] = {
    "    at handleWebhook (/app/src/handlers/webhook.ts:87:19)",
    "    at verifySignature (/app/src/middleware/signature.ts:41:11)",
    "    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)",
    "    at next (/app/node_modules/express/lib/router/route.js:149:13)",
    "    at Route.dispatch (/app/node_modules/express/lib/router/route.js:119:3)",
    "    at /app/node_modules/express/lib/router/index.js:284:15",
    "    at Function.process_params (/app/node_modules/express/lib/router/index.js:346:12)",
    "    at jsonParser (/app/node_modules/body-parser/lib/types/json.js:113:7)",
    "    at OrderRepository.upsert (/app/src/db/orders.ts:212:23)",
    "    at processTicksAndRejections (node:internal/process/task_queues:95:5)",
    "    at async PrismaClient._transactionWithCallback (/app/node_modules/@prisma/client/runtime/library.js:127:8011)",
    "    at async Queue.process (/app/src/jobs/queue.ts:58:9)",
};

constexpr const char* error_messages[] = {
    "TypeError: Cannot read properties of undefined (reading 'id')",
    "PrismaClientKnownRequestError: Unique constraint failed on the fields: (`external_id`)",
    "Error: connect ETIMEDOUT 10.12.4.31:5432",
    "SyntaxError: Unexpected token u in JSON at position 0",
    "Error: Deadlock found when trying to get lock; try restarting transaction",
};

}  // namespace

void body_stack_trace(std::string& b, Rng& r, std::size_t target) {
  const char* msg = error_messages[r.below(std::size(error_messages))];
  b.append(R"({"error":"internal_server_error","message":")");
  b.append(msg);
  b.append(R"(","request_id":"req_)");
  append_random_hex(b, r, 20);
  b.append(R"(","stack":")");
  b.append(msg);
  while (b.size() < target) {
    b.append("\\n");  // JSON escape for a newline: a backslash and an n
    b.append(stack_frames[r.below(std::size(stack_frames))]);
  }
  b.append("\"}");
}

void body_cloudflare_page(std::string& b, Rng& r, int code, std::size_t target) {
  const char* title = code == 502 ? "Bad gateway" : code == 503 ? "Service unavailable" : "Web server is down";
  b.append(
      "<!DOCTYPE html>\n<!--[if lt IE 7]> <html class=\"no-js ie6 oldie\" lang=\"en-US\"> <![endif]-->\n"
      "<html class=\"no-js\" lang=\"en-US\">\n<head>\n<title>");
  b.append(title);
  b.append(
      " | Cloudflare</title>\n<meta charset=\"UTF-8\" />\n"
      "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
      "<meta name=\"robots\" content=\"noindex, nofollow\" />\n"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\" />\n<style>\n");
  static constexpr const char* css[] = {
      "#cf-wrapper{font-family:-apple-system,BlinkMacSystemFont,\"Segoe UI\",Roboto,sans-serif;color:#404040}\n",
      "#cf-wrapper .cf-section{display:block;margin:0 auto;max-width:60rem;padding:0 1.5rem}\n",
      "#cf-wrapper .cf-error-details{background-color:#fff;border:1px solid #ebebeb;border-radius:2px}\n",
      "#cf-wrapper .cf-highlight{background-color:#f2f2f2;padding:1rem 0;text-align:center}\n",
      "#cf-wrapper .cf-status-display h3{font-size:15px;font-weight:600;line-height:1.3;margin:0}\n",
      "#cf-wrapper .cf-icon-error-container{position:relative;height:4.5rem;width:6rem}\n",
  };
  const std::size_t room = target > 900 ? target - 900 : 0;
  for (std::size_t i = 0; b.size() < 300 + room; ++i) b.append(css[i % std::size(css)]);
  b.append("</style>\n</head>\n<body>\n<div id=\"cf-wrapper\">\n<div id=\"cf-error-details\" class=\"cf-error-details-wrapper\">\n"
           "<div class=\"cf-wrapper cf-header cf-error-overview\">\n<h1>\n<span class=\"cf-error-type\">");
  b.append(title);
  b.append("</span>\n<span class=\"cf-error-code\">");
  put_int(b, code);
  b.append(
      "</span>\n</h1>\n</div>\n<div class=\"cf-section cf-wrapper\">\n<h2>What happened?</h2>\n"
      "<p>The web server reported a gateway error.</p>\n<h2>What can I do?</h2>\n<p>Please try again in a few "
      "minutes.</p>\n</div>\n<div class=\"cf-error-footer cf-wrapper\">\n<p>\n<span>Cloudflare Ray ID: <strong>");
  append_random_hex(b, r, 16);
  b.append("</strong></span>\n<span>Your IP: <span>34.");
  put_int(b, r.range(0, 255));
  b.push_back('.');
  put_int(b, r.range(0, 255));
  b.push_back('.');
  put_int(b, r.range(1, 254));
  b.append("</span></span>\n<span>Performance &amp; security by Cloudflare</span>\n</p>\n</div>\n</div>\n</div>\n</body>\n</html>\n");
}

void body_processed_list(std::string& b, Rng& r, i64 t) {
  const int items = static_cast<int>(r.range(12, 70));
  b.append(R"({"ok":true,"received_at":")");
  put_rfc3339(b, t);
  b.append(R"(","processed":[)");
  for (int i = 0; i < items; ++i) {
    if (i) b.push_back(',');
    b.append(R"({"id":"itm_)");
    append_random_hex(b, r, 12);
    b.append(R"(","status":")");
    b.append(r.chance(0.93) ? "ok" : "skipped");
    b.append(R"(","ms":)");
    put_int(b, r.range(0, 120));
    b.push_back('}');
  }
  b.append("]}");
}

}  // namespace hookstream::bench_load
