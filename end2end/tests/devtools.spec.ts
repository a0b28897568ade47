import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { fixtures, hydrated, login, useTheme } from "./helpers";

/** No serious or critical axe findings inside `selector`. */
async function axe(page: Page, selector: string, what: string) {
  const results = await new AxeBuilder({ page }).include(selector).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), what).toEqual([]);
}

/** Every request the page makes; anything not to the hub on 127.0.0.1 is refused and remembered. */
async function offline(page: Page): Promise<string[]> {
  const elsewhere: string[] = [];
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1") return route.continue();
    elsewhere.push(url.href);
    return route.abort();
  });
  return elsewhere;
}

const authorized = () => ({ Authorization: `Bearer ${fixtures().acmeKey}` });

test("the API reference is served offline from Help, and its try-it answers with a pasted key", async ({ page }) => {
  const elsewhere = await offline(page);
  await login(page, fixtures().admin);
  await page.getByRole("button", { name: "Help" }).click();
  await page.getByRole("dialog", { name: "Help" }).getByRole("link", { name: "API reference" }).click();
  await expect(page.getByRole("heading", { name: "API reference", level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page).toHaveTitle(/API reference/);

  // Generated from the document: resources, the usage route this part added, the schemas.
  await expect(page.getByRole("heading", { name: "webhooks", level: 2, exact: true })).toBeVisible();
  await expect(page.locator('[data-operation="get_api_v1_keys__id__usage"]')).toContainText("/api/v1/keys/{id}/usage");
  await expect(page.getByRole("heading", { name: "Schemas" })).toBeVisible();

  // Try it: GET /me with the pasted key answers 200 with the key; with a wrong key, 401.
  const key = fixtures().acmeKey;
  await page.getByLabel("API key").fill(key);
  const me = page.locator('[data-operation="get_api_v1_me"]');
  await me.locator("summary").click();
  await me.getByRole("button", { name: "Send request" }).click();
  await expect(me.getByTestId("try-status")).toHaveText("200");
  await expect(me.getByTestId("try-answer")).toContainText('"name": "e2e"');
  await page.getByLabel("API key").fill("ihk_live_not_a_key");
  await me.getByRole("button", { name: "Send request" }).click();
  await expect(me.getByTestId("try-status")).toHaveText("401");

  // A path parameter goes into the path: GET /webhooks/{id} of an unknown id is a 404 with its JSON error.
  await page.getByLabel("API key").fill(key);
  const one = page.locator('[data-operation="get_api_v1_webhooks__id_"]');
  await one.locator("summary").click();
  await one.getByLabel(/^id \(path/).fill("wh_missing");
  await one.getByRole("button", { name: "Send request" }).click();
  await expect(one.getByTestId("try-status")).toHaveText("404");
  await expect(one.getByTestId("try-answer")).toContainText("not_found");

  // The key is never stored: not in web storage, not in a cookie, not in the page's address.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  expect(stored).not.toContain(key);
  expect(page.url()).not.toContain(key);

  // Code samples, one per language, with this hub's address.
  const samples = page.getByTestId("code-samples");
  await samples.getByTestId("sample-tab-python").first().click();
  await expect(samples.getByTestId("sample-code").first()).toContainText("urllib.request");
  await expect(samples.getByTestId("sample-code").first()).toContainText(new URL(page.url()).origin + "/api/v1/events");

  expect(elsewhere, "requests outside 127.0.0.1").toEqual([]);
  for (const theme of ["light", "dark"] as const) {
    await useTheme(page, theme);
    await page.reload();
    await hydrated(page);
    await expect(page.getByRole("heading", { name: "webhooks", level: 2, exact: true })).toBeVisible();
    await page.locator('[data-operation="post_api_v1_events"] summary').click();
    await axe(page, "main", `API reference (${theme})`);
  }
});

test("a key's usage chart shows its traffic per day, and the tenant's", async ({ page }) => {
  const me = await page.request.get("/api/v1/me", { headers: authorized() });
  expect(me.status()).toBe(200);
  const keyId = (await me.json()).key.id as string;
  for (let i = 0; i < 4; i++) {
    expect((await page.request.get("/api/v1/webhooks", { headers: authorized() })).status()).toBe(200);
  }
  // Counted in memory, written every 3 seconds.
  await page.waitForTimeout(4_000);
  await login(page, fixtures().admin);
  await page.getByRole("tab", { name: "API Keys" }).click();
  const usage = page.getByRole("region", { name: "Usage" });
  await expect(usage.getByTestId("usage-chart")).toBeVisible();
  const tenantTotal = Number(await usage.getByTestId("usage-requests").textContent());
  expect(tenantTotal).toBeGreaterThanOrEqual(5);

  await usage.getByLabel("Key", { exact: true }).selectOption(keyId);
  await expect(usage.getByTestId("last-used-ip")).toHaveText("127.0.0.1");
  const mine = Number(await usage.getByTestId("usage-requests").textContent());
  expect(mine).toBeGreaterThanOrEqual(5);
  expect(mine).toBeLessThanOrEqual(tenantTotal);
  await expect(usage.getByRole("img", { name: /requests/ })).toHaveAttribute("aria-label", new RegExp(`over 7d: ${mine} requests`));
  await usage.getByLabel("Period", { exact: true }).selectOption("90d");
  await expect(usage.getByRole("img", { name: /over 90d/ })).toBeVisible();
  await expect(usage.locator("rect").first()).toBeVisible();

  for (const theme of ["light", "dark"] as const) {
    await useTheme(page, theme);
    await page.reload();
    await hydrated(page);
    await expect(page.getByRole("region", { name: "Usage" }).getByTestId("usage-chart")).toBeVisible();
    await axe(page, "section[aria-labelledby=usage-heading]", `Usage (${theme})`);
  }
});

test("the endpoint list is searched and filtered on the server", async ({ page }) => {
  for (const [name, events] of [["devtools-alpha", ["invoice.paid"]], ["devtools-beta", ["ticket.created"]], ["devtools-gamma", ["ticket.*"]]] as const) {
    const res = await page.request.post("/api/v1/webhooks", {
      headers: authorized(),
      data: { name, url: `https://${name}.example/hook`, events },
    });
    expect(res.status(), await res.text()).toBe(201);
  }
  // The REST list pages with a cursor and takes the same filters.
  const page1 = await page.request.get("/api/v1/webhooks?search=devtools-&limit=2", { headers: authorized() });
  const body = await page1.json();
  expect(body.data).toHaveLength(2);
  expect(body.next_cursor).toBeTruthy();

  await login(page, fixtures().admin);
  await page.getByRole("tab", { name: "Webhooks" }).click();
  const panel = page.getByRole("tabpanel", { name: "Webhooks" });
  const cards = panel.getByTestId("webhook-card");
  await panel.getByLabel("Search").fill("devtools-b");
  await expect(cards.filter({ hasText: "devtools-" })).toHaveCount(1);
  await expect(cards.first()).toContainText("devtools-beta");

  await panel.getByLabel("Search").fill("devtools");
  await panel.getByLabel("Event type").selectOption("ticket.created");
  await expect(cards.filter({ hasText: "devtools-" })).toHaveCount(2);
  await expect(panel).not.toContainText("devtools-alpha");

  for (const theme of ["light", "dark"] as const) {
    await useTheme(page, theme);
    await page.reload();
    await hydrated(page);
    await page.getByRole("tab", { name: "Webhooks" }).click();
    await expect(page.getByRole("tabpanel", { name: "Webhooks" })).toBeVisible();
    await axe(page, '[role="tabpanel"]:not([hidden])', `Webhooks list (${theme})`);
  }
});
