// The OpenAPI 3.1 document of hookstream's HTTP API (`GET /v1/openapi.json`).
//
// Generated from the code rather than written beside it: its paths come from
// the server's endpoint table (a route without a description fails the
// generation, so no endpoint goes undocumented), the listing's parameters, their
// rules and limits from the same table the query-string parser enforces
// (list_query.hpp). The response schemas are checked against real answers: the
// contract test (tests/openapi/) validates the document with an OpenAPI
// validator and every response the api test suite recorded against it.
#pragma once

#include <string>

namespace hookstream::server {

/// The document as JSON text. Built once, on first use; thread-safe.
const std::string& openapi_document();

}  // namespace hookstream::server
