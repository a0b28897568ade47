import { expect, Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Fixtures {
  acme: string;
  globex: string;
  admin: { email: string; password: string };
  tenantUser: { email: string; password: string };
  acmeKey: string;
  /** The folder of the hub's SQLite database (`hub.db`). */
  dbDir: string;
  /** The OAuth server that stands in for Google's (empty when node or oidc-provider is missing). */
  oauthUrl: string;
}

export function fixtures(): Fixtures {
  return JSON.parse(readFileSync(join(__dirname, "..", ".state", "fixtures.json"), "utf8"));
}

/** Waits until the WASM bundle has hydrated the page (event handlers are live). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1, { timeout: 30_000 });
}

export async function login(page: Page, who: { email: string; password: string }) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Integrations", level: 1 })).toBeVisible();
  await hydrated(page);
}

/** A real webhook receiver on loopback: answers 200 with a JSON body, or 500 while `failing`. */
export interface Receiver {
  url: string;
  requests: { headers: Record<string, string | string[] | undefined>; body: string }[];
  failing: boolean;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const http = await import("node:http");
  const rx: Receiver = { url: "", requests: [], failing: false, close: async () => {} };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      rx.requests.push({ headers: req.headers, body });
      if (rx.failing) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "receiver is down" }));
      } else {
        res.writeHead(200, { "content-type": "application/json", "x-receiver": "e2e" });
        res.end(JSON.stringify({ received: true, count: rx.requests.length }));
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  rx.url = `http://127.0.0.1:${port}/hook`;
  rx.close = () => new Promise<void>((ok) => server.close(() => ok()));
  return rx;
}

/** The catalog example of an event type, through the REST API. */
export async function example(page: Page, type: string): Promise<unknown> {
  const res = await page.request.get("/api/v1/event-types", { headers: { Authorization: `Bearer ${fixtures().acmeKey}` } });
  expect(res.status()).toBe(200);
  const list = (await res.json()).data as { name: string; example: unknown }[];
  return list.find((t) => t.name === type)!.example;
}

export async function publish(page: Page, type: string, data: unknown) {
  const res = await page.request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${fixtures().acmeKey}` },
    data: { type, data },
  });
  expect(res.status(), await res.text()).toBe(202);
  return (await res.json()) as { id: string; matched: number };
}

/** Light or dark for the whole test, through the theme cookie the server renders from. */
export async function useTheme(page: Page, theme: "light" | "dark") {
  await page.context().addCookies([{ name: "hub_theme", value: theme, url: "http://127.0.0.1:" + (process.env.E2E_PORT ?? "3107") }]);
}

/** Gives Acme an endpoint and one delivery unless an earlier spec already did, so a spec can run on its own. */
export async function ensureAcmeDelivery(page: Page) {
  const headers = { Authorization: `Bearer ${fixtures().acmeKey}` };
  const list = await page.request.get("/api/v1/webhooks", { headers });
  expect(list.status()).toBe(200);
  if (((await list.json()).data as unknown[]).length > 0) return;
  const rx = await startReceiver();
  const res = await page.request.post("/api/v1/webhooks", { headers, data: { name: "Portal check", url: rx.url, events: ["ticket.created"] } });
  expect(res.status(), await res.text()).toBe(201);
  await publish(page, "ticket.created", await example(page, "ticket.created"));
  await expect.poll(() => rx.requests.length).toBeGreaterThan(0);
  await rx.close();
}

/** Rows of a read-only query on the hub's SQLite database, as the operator would see them on disk (Node 20 has
 * no SQLite module, so Python's does the reading). */
export function dbRows(sql: string, params: unknown[] = []): unknown[][] {
  const script = "import json,sqlite3,sys\n" +
    "c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True)\n" +
    "print(json.dumps(c.execute(sys.argv[2],json.loads(sys.argv[3])).fetchall()))";
  const out = execFileSync("python3", ["-c", script, join(fixtures().dbDir, "hub.db"), sql, JSON.stringify(params)]);
  return JSON.parse(out.toString());
}
