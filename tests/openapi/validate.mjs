// The OpenAPI contract test (ctest `openapi_contract`, after `api`).
//
//   node validate.mjs RESPONSES.jsonl
//
// RESPONSES.jsonl holds every answer the api test suite received (one JSON line
// each: target, status, headers, body), recorded by tests/support/test_server.
// 1. The document, as the server served it (GET /v1/openapi.json), must be a
//    valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator, against
//    the specification's own JSON Schema).
// 2. Every recorded answer must be documented: its path (or 404 for paths the
//    document does not list), its status for that operation, its content type;
//    and its body must validate against the documented schema (Ajv, JSON Schema
//    2020-12 as OpenAPI 3.1 uses it, strict mode, formats checked).
// 3. Every documented path must have been exercised by at least one answer.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs RESPONSES.jsonl");
  process.exit(2);
}
const answers = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const failures = [];
const fail = (what) => failures.push(what);

function bodyOf(a) {
  const raw = a.body_base64 !== undefined ? Buffer.from(a.body_base64, "base64") : Buffer.from(a.body, "utf8");
  return a.headers["content-encoding"] === "gzip" ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
}

// 1. The document.
const docAnswer = answers.find((a) => a.target.split("?")[0] === "/v1/openapi.json" && a.status === 200);
if (!docAnswer) {
  console.error("no recorded answer of GET /v1/openapi.json: run the api tests with HOOKSTREAM_RECORD_RESPONSES");
  process.exit(1);
}
const doc = JSON.parse(bodyOf(docAnswer));
const validator = new Validator({ strict: false });
const result = await validator.validate(structuredClone(doc));
if (!result.valid) {
  console.error("the OpenAPI document is not valid:", JSON.stringify(result.errors, null, 2));
  process.exit(1);
}
if (validator.version !== "3.1") fail(`document version ${validator.version}, expected 3.1`);

// 2. The schemas, compiled once. References into #/components/schemas/ point
// at one registered schema that holds them all.
const base = "https://hookstream.invalid/components";
const rewrite = (v) =>
  Array.isArray(v)
    ? v.map(rewrite)
    : v && typeof v === "object"
      ? Object.fromEntries(
          Object.entries(v).map(([k, x]) =>
            k === "$ref" && typeof x === "string" && x.startsWith("#/components/schemas/")
              ? [k, `${base}#/$defs/${x.slice("#/components/schemas/".length)}`]
              : [k, rewrite(x)]))
      : v;
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: base, $defs: rewrite(doc.components.schemas) });
const compiled = new Map();
const schemaFor = (schema) => {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rewrite(schema)));
  return compiled.get(key);
};
const resolve = (obj) => (obj && obj.$ref ? obj.$ref.split("/").slice(1).reduce((o, k) => o[k], doc) : obj);

const templates = Object.keys(doc.paths).map((p) => ({
  path: p,
  regex: new RegExp("^" + p.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+") + "$"),
}));
const exercised = new Map(Object.keys(doc.paths).map((p) => [p, new Set()]));
let validated = 0;
let omitted = 0;
for (const a of answers) {
  const where = `GET ${a.target} -> ${a.status}`;
  const path = a.target.split("?")[0];
  // Exact templates first, as the server matches them.
  const match = templates.find((t) => !t.path.includes("{") && t.path === path) ??
    templates.find((t) => t.regex.test(path));
  let response;
  if (!match) {
    if (a.status !== 404) {
      fail(`${where}: an undocumented path must answer 404`);
      continue;
    }
    response = { content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  } else {
    exercised.get(match.path).add(a.status);
    const op = doc.paths[match.path].get;
    response = resolve(op.responses[String(a.status)]);
    if (!response) {
      fail(`${where}: status ${a.status} is not documented for GET ${match.path}`);
      continue;
    }
  }
  if (!a.headers["x-request-id"]) fail(`${where}: no X-Request-Id`);
  const type = (a.headers["content-type"] ?? "").split(";")[0].trim();
  const media = response.content?.[type];
  if (!media) {
    fail(`${where}: content type "${type}" is not documented (${Object.keys(response.content ?? {}).join(", ")})`);
    continue;
  }
  if (a.body_omitted_bytes !== undefined) {
    ++omitted;  // too large to record: status, headers and content type were checked
    continue;
  }
  const text = bodyOf(a);
  let body = text;
  if (type === "application/json") {
    try {
      body = JSON.parse(text);
    } catch (e) {
      fail(`${where}: the body is not JSON: ${e.message}`);
      continue;
    }
  }
  const check = schemaFor(media.schema);
  if (!check(body)) {
    fail(`${where}: ${ajv.errorsText(check.errors)}`);
    continue;
  }
  if (body && typeof body === "object" && "request_id" in body && body.request_id !== a.headers["x-request-id"])
    fail(`${where}: request_id ${body.request_id} is not the X-Request-Id ${a.headers["x-request-id"]}`);
  ++validated;
}

// 3. Coverage.
for (const [p, statuses] of exercised)
  if (statuses.size === 0) fail(`no answer of GET ${p} was recorded: the test suite does not exercise it`);

for (const [p, statuses] of exercised)
  console.log(`GET ${p}: statuses seen ${[...statuses].sort().join(", ")}`);
for (const f of failures.slice(0, 50)) console.error("FAIL", f);
if (omitted) console.log(`${omitted} answers over 256 KiB were checked without their bodies`);
console.log(`${validated} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
