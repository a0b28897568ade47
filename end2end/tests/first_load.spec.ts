import { chromium, test, expect, Page } from "@playwright/test";
import { fixtures, hydrated, login } from "./helpers";

/** Every request of the page and whether the browser answered it from its own cache. */
async function watchNetwork(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const seen = new Map<string, { url: string; cached: boolean; cacheControl?: string }>();
  cdp.on("Network.requestWillBeSent", (e) => seen.set(e.requestId, { url: e.request.url, cached: false }));
  cdp.on("Network.requestServedFromCache", (e) => {
    const r = seen.get(e.requestId);
    if (r) r.cached = true;
  });
  cdp.on("Network.responseReceived", (e) => {
    const r = seen.get(e.requestId);
    if (!r) return;
    r.cached ||= e.response.fromDiskCache || e.response.fromPrefetchCache;
    r.cacheControl = e.response.headers["cache-control"] ?? e.response.headers["Cache-Control"];
  });
  return () => [...seen.values()];
}

const bundle = (url: string) => /\/pkg\/[^/]+\.[0-9a-f]{16}\.(js|wasm|css)$/.test(url);

test("a second visit takes the bundle from the browser cache and fetches only the page and its data", async ({}, info) => {
  // A browser profile on disk, as people have: the debug build's WASM is larger than an in-memory cache keeps.
  const use = info.project.use;
  const context = await chromium.launchPersistentContext(info.outputPath("profile"), {
    ...use.launchOptions,
    baseURL: use.baseURL,
  });
  const page = await context.newPage();
  await login(page, fixtures().admin);
  const integrations = page.url();

  // A first visit in a fresh tab of this browser: the bundle is linked under digest names, cached for good.
  const first = await page.context().newPage();
  const firstRequests = await watchNetwork(first);
  await first.goto("/login?next=/integrations");
  await hydrated(first);
  const linked = firstRequests().filter((r) => bundle(r.url));
  expect(linked.map((r) => r.url.split(".").pop()).sort()).toEqual(["css", "js", "wasm"]);
  for (const r of linked) expect(r.cacheControl).toBe("public, max-age=31536000, immutable");

  // The second visit, to another page: HTML and data from the server, every bundle file from the cache.
  const second = await page.context().newPage();
  const secondRequests = await watchNetwork(second);
  await second.goto(integrations);
  await hydrated(second);
  await expect(second.getByRole("heading", { name: "Integrations", level: 1 })).toBeVisible();
  const again = secondRequests().filter((r) => bundle(r.url));
  expect(again.length).toBe(3);
  expect(again.filter((r) => !r.cached).map((r) => r.url)).toEqual([]);
  const fromServer = secondRequests().filter((r) => !r.cached).map((r) => new URL(r.url).pathname);
  const pageOrData = (p: string) => p.startsWith("/t/") || p.startsWith("/api/") || p === "/favicon.svg";
  expect(fromServer.filter((p) => !pageOrData(p))).toEqual([]);
  await context.close();
});
