// Signs a user up, creates an organization and makes it active — all through
// better-auth itself (its PostgreSQL adapter writing our database, its own cookie
// signing) — and prints what hookstream's interop test needs as JSON:
//   {"cookie": "<Set-Cookie value of better-auth.session_token>", "token", "userId", "organizationId"}
//
// Environment: DATABASE_URL, BETTER_AUTH_SECRET (or BETTER_AUTH_SECRETS), EMAIL (optional).
import { betterAuth } from "better-auth";
import { organization } from "better-auth/plugins";
import { getMigrations } from "better-auth/db/migration";
import pg from "pg";

const baseURL = "http://localhost:3000";
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
const auth = betterAuth({
  baseURL,
  database: pool,
  emailAndPassword: { enabled: true },
  plugins: [organization()],
  logger: { disabled: true },
});

// hookstream's migrations already made these tables; this must find nothing to do
// (or only add what better-auth has and we lack), never fail.
const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(auth.options);
await runMigrations();

const email = process.env.EMAIL ?? `user-${Date.now()}-${Math.random().toString(16).slice(2)}@example.com`;
const call = async (path, body, cookie) => {
  const headers = { "content-type": "application/json", origin: baseURL };
  if (cookie) headers.cookie = cookie;
  const res = await auth.handler(new Request(baseURL + "/api/auth" + path, {
    method: "POST", headers, body: JSON.stringify(body),
  }));
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res;
};
const cookieOf = (res) => {
  const set = res.headers.getSetCookie().find((c) => c.startsWith("better-auth.session_token="));
  if (!set) throw new Error("no session cookie in " + JSON.stringify(res.headers.getSetCookie()));
  return set.split(";")[0];
};

const signUp = await call("/sign-up/email", { email, password: "correct horse battery staple", name: "Interop" });
const cookie = cookieOf(signUp);
const slug = "org-" + Math.random().toString(16).slice(2);
const created = await (await call("/organization/create", { name: "Interop Org", slug }, cookie)).json();
await call("/organization/set-active", { organizationId: created.id }, cookie);

const token = decodeURIComponent(cookie.split("=").slice(1).join("=")).split(".")[0];
const session = await pool.query('SELECT "userId", "activeOrganizationId" FROM "session" WHERE token = $1', [token]);
console.log(JSON.stringify({
  cookie,
  token,
  userId: session.rows[0].userId,
  organizationId: session.rows[0].activeOrganizationId,
  tablesCreated: toBeCreated.map((t) => t.table),
  columnsAdded: toBeAdded.map((t) => t.table),
}));
await pool.end();
