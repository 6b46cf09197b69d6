#include "endpoint_table.hpp"

#include <hookstream/server/list_query.hpp>
#include <hookstream/server/openapi.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>

namespace hookstream::server {
namespace json = boost::json;
namespace {

json::value js(std::string_view text) { return json::parse(text); }

json::object ref(std::string_view name) { return {{"$ref", "#/components/schemas/" + std::string(name)}}; }

json::object json_response(std::string_view description, json::value schema) {
  return {{"description", description},
          {"headers", {{"X-Request-Id", {{"$ref", "#/components/headers/X-Request-Id"}}}}},
          {"content", {{"application/json", {{"schema", std::move(schema)}}}}}};
}

json::object error_response(std::string_view description) { return json_response(description, ref("Error")); }

// The answers every API operation can give besides its own.
void add_api_errors(json::object& responses) {
  responses["400"] = error_response(
      "A query parameter (or the cursor) is not valid; `error` names it and its rule. (Also: a malformed HTTP request.)");
  responses["401"] = error_response("No credential, or one that is unknown, revoked or expired.");
  responses["401"].as_object()["headers"].as_object()["WWW-Authenticate"] =
      json::object{{"schema", {{"type", "string"}}}};
  responses["403"] = error_response("X-Env-Id names an environment of another organization (session cookies).");
  responses["405"] = error_response("Only GET (and OPTIONS preflights) are allowed.");
  responses["429"] = error_response("Past the organization's rate limit, or too many failed credentials.");
  responses["429"].as_object()["headers"].as_object()["Retry-After"] = json::object{{"schema", {{"type", "integer"}}}};
  responses["500"] = error_response("An unexpected server error.");
  responses["503"] = error_response("The database is unavailable or every connection is busy; retry later.");
  responses["503"].as_object()["headers"].as_object()["Retry-After"] = json::object{{"schema", {{"type", "integer"}}}};
  responses["504"] = error_response("The request's database work ran past its deadline.");
}

// What any path may answer at the HTTP layer, before routing (the listener
// refuses the request and closes the connection), or when a handler fails.
void add_transport_errors(json::object& responses) {
  if (!responses.contains("400"))
    responses["400"] = error_response("The HTTP request is malformed (framing, Host), and the connection is closed.");
  responses["413"] = error_response("The request body is larger than the server accepts.");
  responses["431"] = error_response("The request's header fields are too large.");
  if (!responses.contains("500")) responses["500"] = error_response("An unexpected server error.");
}

json::object rate_limit_headers() {
  json::object h;
  for (const char* name : {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"})
    h[name] = json::object{{"$ref", std::string("#/components/headers/") + name}};
  h["X-Request-Id"] = json::object{{"$ref", "#/components/headers/X-Request-Id"}};
  return h;
}

json::array listing_parameter_docs() {
  json::array out;
  for (const auto& p : listing_parameters()) {
    json::object param{{"name", p.name},
                       {"in", "query"},
                       {"required", false},
                       {"description", std::string(p.description) + " Must " + p.rule + "."},
                       {"schema", js(p.schema)}};
    if (p.list) {
      param["style"] = "form";
      param["explode"] = false;
    }
    out.push_back(std::move(param));
  }
  return out;
}

json::object preflight() {
  return {{"summary", "CORS preflight (answered without the database)"},
          {"security", json::array{}},
          {"responses",
           {{"204", {{"description", "Allowed origins get Access-Control-Allow-* headers; others get none."}}}}}};
}

json::object path_item(const endpoint_route& r) {
  json::object get;
  json::object responses;
  switch (r.target) {
    case endpoint::healthz:
      get["summary"] = "The process is up";
      responses["200"] = json_response("Up.", js(R"({"type":"object","required":["status"],
          "properties":{"status":{"const":"ok"}},"additionalProperties":false})"));
      break;
    case endpoint::readyz:
      get["summary"] = "The database is reachable (checked at most once a second)";
      responses["200"] = json_response("Ready.", js(R"({"type":"object","required":["status"],
          "properties":{"status":{"const":"ready"}},"additionalProperties":false})"));
      responses["503"] = error_response("The database is unavailable.");
      break;
    case endpoint::metrics:
      get["summary"] = "Prometheus metrics";
      responses["200"] = {{"description", "Prometheus text format 0.0.4."},
                          {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}};
      break;
    case endpoint::openapi:
      get["summary"] = "This document";
      responses["200"] = json_response("The OpenAPI 3.1 document of this API.",
                                       js(R"({"type":"object","required":["openapi","info","paths"],
                                           "properties":{"openapi":{"const":"3.1.0"},"info":{"type":"object"},
                                                         "paths":{"type":"object"}}})"));
      break;
    case endpoint::list_attempts:
      get["operationId"] = "listDeliveryAttempts";
      get["summary"] = "List delivery attempts";
      get["description"] =
          "Newest first (created_at, then id, descending). Filters combine with AND; the values of one list "
          "parameter with OR. `total` is exact for every filter combination. Every page carries next_cursor (when "
          "has_more) and prev_cursor (unless it is the first page); a cursor only works with the filters it was "
          "made for, time range included. Unknown parameters are ignored; a known one given twice is a 400.";
      get["parameters"] = listing_parameter_docs();
      responses["200"] = json_response("A page of attempts.", ref("DeliveryAttemptPage"));
      break;
    case endpoint::stream_attempts: {
      get["operationId"] = "streamDeliveryAttempts";
      get["summary"] = "Live tail of new and changed delivery attempts (Server-Sent Events)";
      get["description"] =
          "A text/event-stream: `event: attempt` (id: a stream cursor, data: the attempt exactly as the listing "
          "renders it), `event: heartbeat`, and at the end `event: overflow` or `event: error`. The listing's "
          "filters apply (limit and offset are ignored); resume with Last-Event-ID or `cursor`.";
      json::array params;
      for (auto& p : listing_parameter_docs()) {
        const auto& name = p.as_object().at("name").as_string();
        if (name != "limit" && name != "offset" && name != "cursor") params.push_back(p);
      }
      params.push_back(json::object{{"name", "cursor"}, {"in", "query"}, {"required", false},
                                    {"description", "A stream cursor (an event's id) to resume after."},
                                    {"schema", {{"type", "string"}}}});
      params.push_back(json::object{{"name", "Last-Event-ID"}, {"in", "header"}, {"required", false},
                                    {"description", "A stream cursor to resume after; wins over `cursor`."},
                                    {"schema", {{"type", "string"}}}});
      get["parameters"] = std::move(params);
      responses["200"] = {{"description", "The stream."},
                          {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}};
      responses["410"] = error_response("The cursor is older than the event log's retention.");
      responses["501"] = error_response("The transport cannot stream (api_handler::handle).");
      break;
    }
    case endpoint::get_attempt:
      get["operationId"] = "getDeliveryAttempt";
      get["summary"] = "One delivery attempt";
      get["parameters"] = json::array{
          {{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}, {"minLength", 1}}}}};
      responses["200"] = json_response("The attempt.", ref("SingleDeliveryAttempt"));
      responses["404"] = error_response("No attempt of this tenant has this id (another tenant's is not revealed).");
      break;
  }
  if (responses.empty()) throw std::logic_error("openapi: a route without a description");
  if (r.api) {
    add_api_errors(responses);
    responses["200"].as_object()["headers"] = rate_limit_headers();
  } else {
    get["security"] = json::array{};  // no credential
    responses["405"] = error_response("Only GET is allowed.");
  }
  add_transport_errors(responses);
  get["responses"] = std::move(responses);
  json::object item{{"get", std::move(get)}};
  if (r.api) item["options"] = preflight();
  return item;
}

// The attempt's fields, in the seed's order with its types.
json::value attempt_schema() {
  return js(R"({
    "type": "object",
    "additionalProperties": false,
    "required": ["id", "org_id", "env_id", "event_id", "connection_id", "destination_id", "request_url",
      "request_method", "request_headers", "request_body_size", "response_status", "response_headers",
      "response_body", "duration_ms", "status", "error", "created_at", "attempt_number", "next_retry_at", "is_dlq",
      "dlq_at", "trigger_type", "connection_name", "destination_name"],
    "properties": {
      "id": {"type": "string", "description": "da_<32 hex>"},
      "org_id": {"type": "string"},
      "env_id": {"type": "string"},
      "event_id": {"type": "string"},
      "connection_id": {"type": "string"},
      "destination_id": {"type": "string"},
      "request_url": {"type": "string"},
      "request_method": {"type": "string"},
      "request_headers": {"type": ["string", "null"], "description": "A JSON object, as a string."},
      "request_body_size": {"type": "integer"},
      "response_status": {"type": ["integer", "null"]},
      "response_headers": {"type": ["string", "null"], "description": "A JSON object, as a string."},
      "response_body": {"type": ["string", "null"],
        "description": "What the destination answered; invalid UTF-8 became U+FFFD. Long values are cut (see the README)."},
      "duration_ms": {"type": ["integer", "null"]},
      "status": {"type": "string", "enum": ["pending", "success", "failed", "retrying"]},
      "error": {"type": ["string", "null"]},
      "created_at": {"$ref": "#/components/schemas/Timestamp"},
      "attempt_number": {"type": ["integer", "null"]},
      "next_retry_at": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]},
      "is_dlq": {"enum": [0, 1, null], "description": "1 in the dead-letter queue, 0 not (an integer, not a boolean)."},
      "dlq_at": {"anyOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}]},
      "trigger_type": {"type": ["string", "null"]},
      "connection_name": {"type": ["string", "null"]},
      "destination_name": {"type": ["string", "null"]}
    }})");
}

json::object components() {
  json::object schemas;
  schemas["Timestamp"] = js(R"({"type": "string", "format": "date-time",
      "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
      "description": "RFC 3339, UTC, milliseconds."})");
  schemas["DeliveryAttempt"] = attempt_schema();
  schemas["Pagination"] = js(R"({
    "type": "object",
    "additionalProperties": false,
    "required": ["total", "limit", "offset", "has_more", "next_cursor", "prev_cursor"],
    "properties": {
      "total": {"type": "integer", "minimum": 0, "description": "Attempts matching the filters (exact)."},
      "limit": {"type": "integer", "minimum": 1},
      "offset": {"type": "integer", "minimum": 0,
        "description": "Position of the page's first attempt (for a cursor page: as counted when the cursor was made)."},
      "has_more": {"type": "boolean"},
      "next_cursor": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_-]+$"},
      "prev_cursor": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_-]+$"}
    }})");
  schemas["DeliveryAttemptPage"] = js(R"({
    "type": "object",
    "additionalProperties": false,
    "required": ["delivery_attempts", "pagination"],
    "properties": {
      "delivery_attempts": {"type": "array", "items": {"$ref": "#/components/schemas/DeliveryAttempt"}},
      "pagination": {"$ref": "#/components/schemas/Pagination"}
    }})");
  schemas["SingleDeliveryAttempt"] = js(R"({
    "type": "object",
    "additionalProperties": false,
    "required": ["delivery_attempt"],
    "properties": {"delivery_attempt": {"$ref": "#/components/schemas/DeliveryAttempt"}}})");
  schemas["Error"] = js(R"({
    "type": "object",
    "additionalProperties": false,
    "required": ["error", "status", "request_id"],
    "properties": {
      "error": {"type": "string", "minLength": 1},
      "status": {"type": "integer", "minimum": 400, "maximum": 599},
      "request_id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$",
        "description": "req_<hex>, or the client's own X-Request-Id when it is well formed."}
    }})");

  json::object headers;
  headers["X-Request-Id"] = js(R"({"description": "The request's id (a well-formed incoming X-Request-Id is kept).",
      "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}})");
  headers["RateLimit-Limit"] = js(R"({"description": "Requests per window for the organization.",
      "schema": {"type": "integer"}})");
  headers["RateLimit-Remaining"] = js(R"({"description": "Requests left in this window.", "schema": {"type": "integer"}})");
  headers["RateLimit-Reset"] = js(R"({"description": "Seconds until the window resets.", "schema": {"type": "integer"}})");

  json::object security;
  security["apiKey"] = js(R"({"type": "apiKey", "in": "header", "name": "X-API-Key",
      "description": "hs_live_<64 hex> or hs_test_<64 hex>."})");
  security["bearer"] = js(R"({"type": "http", "scheme": "bearer", "description": "The same API key."})");
  security["sessionCookie"] = js(R"({"type": "apiKey", "in": "cookie", "name": "better-auth.session_token",
      "description": "better-auth's signed session cookie (also __Secure-better-auth.session_token); the environment is X-Env-Id or the organization's default."})");
  return {{"schemas", std::move(schemas)}, {"headers", std::move(headers)}, {"securitySchemes", std::move(security)}};
}

std::string build() {
  json::object paths;
  for (const auto& r : endpoint_routes()) paths[r.pattern] = path_item(r);
  json::object doc{
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "hookstream"},
        {"version", "1"},
        {"description",
         "Delivery attempts of a webhook platform. Every error answer, whatever its status, is "
         "{\"error\", \"status\", \"request_id\"} with the same id in X-Request-Id; a path not listed here answers "
         "404 with that body."}}},
      {"paths", std::move(paths)},
      {"components", components()},
      {"security", json::array{json::object{{"apiKey", json::array{}}}, json::object{{"bearer", json::array{}}},
                               json::object{{"sessionCookie", json::array{}}}}},
  };
  return json::serialize(doc);
}

}  // namespace

const std::string& openapi_document() {
  static const std::string doc = build();
  return doc;
}

}  // namespace hookstream::server
