import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { ensureAcmeDelivery, example, fixtures, hydrated, login, startReceiver, useTheme } from "./helpers";

const BASE_URL = `http://127.0.0.1:${process.env.E2E_PORT ?? 3107}`;

test.use({ permissions: ["clipboard-read", "clipboard-write"] });

const rest = () => ({ Authorization: `Bearer ${fixtures().acmeKey}` });

/** An admin invites someone as a viewer of Acme on the Users page; returns the one-time link's path. */
async function invite(page: Page, email: string): Promise<string> {
  const f = fixtures();
  await page.goto(`/t/${f.acme}/people`);
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Role").selectOption("viewer");
  await page.getByRole("button", { name: "Invite", exact: true }).click();
  const url = await page.getByLabel("One-time link").inputValue();
  expect(url).toMatch(/\/accept\/ulk_[0-9A-Z]{26}\.[A-Za-z0-9_-]{43}$/);
  await expect(page.getByTestId("person-row").filter({ hasText: email })).toContainText("Invited");
  return new URL(url).pathname;
}

test("an invited viewer accepts, signs in, sees no write control, and a crafted write is refused", async ({ page, browser }) => {
  const f = fixtures();
  await ensureAcmeDelivery(page);
  await login(page, f.admin);
  const email = `viewer-${Date.now()}@acme.test`;
  const path = await invite(page, email);

  const ctx = await browser.newContext();
  const v = await ctx.newPage();
  const errors: string[] = [];
  v.on("pageerror", (e) => errors.push(e.message));
  await v.goto(path);
  await hydrated(v);
  await expect(v.getByRole("heading", { name: "Welcome" })).toBeVisible();
  await expect(v.getByText(`Choose a password for ${email}.`)).toBeVisible();
  await v.getByLabel("Password (at least 10 characters)").fill("viewer-password-1");
  await v.getByRole("button", { name: "Set password and sign in" }).click();
  // A full load follows: wait for the new document, not the accept page's hydration.
  await v.waitForURL(new RegExp(`/t/${f.acme}/integrations`), { waitUntil: "load" });
  await hydrated(v);

  await expect(v.getByRole("heading", { name: "Integrations", level: 1 })).toBeVisible();

  // Read-only: the endpoints are listed, nothing offers a change.
  const panel = v.getByRole("tabpanel", { name: "Webhooks" });
  const card = panel.getByTestId("webhook-card").first();
  await expect(card).toBeVisible();
  // A page that failed to hydrate runs no handler: say so rather than time out on a menu that never opens.
  expect(errors, "the viewer's page hydrated without a panic").toEqual([]);
  await expect(v.getByRole("button", { name: "New endpoint" })).toHaveCount(0);
  // The list may still be re-rendering as it settles; open the menu until it shows.
  await expect(async () => {
    if ((await card.getByRole("menu").count()) === 0) await card.getByRole("button", { name: /^Actions for / }).click();
    await expect(card.getByRole("menuitem")).toHaveText(["View deliveries"], { timeout: 1000 });
  }).toPass();
  await card.getByRole("button", { name: /^Actions for / }).click();
  await expect(card.getByRole("menu")).toHaveCount(0);
  const keysTab = v.getByRole("tab", { name: "API Keys" });
  await keysTab.click();
  await expect(keysTab).toHaveAttribute("aria-selected", "true");
  await expect(v.getByRole("tabpanel", { name: "API Keys" }).getByTestId("key-row").first()).toBeVisible();
  await expect(v.getByRole("button", { name: "New API key" })).toHaveCount(0);
  await expect(v.getByRole("button", { name: /^Revoke / })).toHaveCount(0);
  await expect(v.getByRole("link", { name: "Users" })).toHaveCount(0);
  await expect(v.getByRole("link", { name: "Tenants" })).toHaveCount(0);
  // Their own Account page hydrates too (its sessions list names this browser, as the server drew it).
  await v.goto(`/t/${f.acme}/account`);
  await hydrated(v);
  await expect(v.getByText("This browser")).toBeVisible();
  expect(errors, "the viewer's pages hydrated without a panic").toEqual([]);

  // A crafted server-function call that would switch the endpoint off is refused, and nothing changes.
  const hooks = await v.request.get("/api/v1/webhooks", { headers: rest() });
  const hook = ((await hooks.json()).data as { id: string; is_active: boolean }[])[0];
  const res = await v.request.post("/api/set_webhook_active", {
    data: { tenant_id: f.acme, id: hook.id, active: false },
    headers: { accept: "application/json", origin: BASE_URL },
  });
  expect(res.status()).toBe(403);
  expect(await res.text()).toContain("Viewers can look but not change anything");
  const after = await v.request.get(`/api/v1/webhooks/${hook.id}`, { headers: rest() });
  expect((await after.json()).is_active).toBe(hook.is_active);

  // The link opened once.
  const again = await (await browser.newContext()).newPage();
  await again.goto(path);
  await expect(again.getByRole("heading", { name: "This link does not open" })).toBeVisible();

  // Their own account: the session they are in is listed.
  await v.goto(`/t/${f.acme}/account`);
  await expect(v.getByTestId("session-row").filter({ hasText: "This browser" })).toHaveCount(1);
  await ctx.close();
});

test("a suspended tenant's key is refused and its deliveries wait; resuming delivers them", async ({ page }) => {
  const f = fixtures();
  const rx = await startReceiver();
  const made = await page.request.post("/api/v1/webhooks", {
    headers: rest(),
    data: { name: `Held ${Date.now()}`, url: rx.url, events: ["ticket.created"] },
  });
  expect(made.status(), await made.text()).toBe(201);
  const hook = (await made.json()) as { id: string };
  const sent = await page.request.post("/api/v1/events", {
    headers: rest(),
    data: { type: "ticket.created", data: await example(page, "ticket.created") },
  });
  expect(sent.status(), await sent.text()).toBe(202);
  const event = (await sent.json()) as { id: string };
  await expect.poll(() => rx.requests.length).toBe(1);

  await login(page, f.admin);
  await page.getByRole("link", { name: "Tenants" }).click();
  await expect(page.getByRole("heading", { name: "Tenants", level: 1 })).toBeVisible();
  const row = page.getByTestId("tenant-row").filter({ has: page.getByText("Acme", { exact: true }) });
  await row.getByRole("button", { name: "Suspend Acme" }).click();
  await expect(row).toContainText("Suspended");
  const suspendedAt = Date.now();
  // The switcher marks it once the shell is read again.
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Tenant").locator("option", { hasText: "Acme (suspended)" })).toHaveCount(1);

  const refused = await page.request.get("/api/v1/webhooks", { headers: rest() });
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.message).toContain("tenant suspended");
  const publish = await page.request.post("/api/v1/events", { headers: rest(), data: { type: "ticket.created", data: {} } });
  expect(publish.status()).toBe(403);

  // The worker keeps an endpoint for up to two seconds; after that a suspended tenant's deliveries wait. An admin
  // resending the event to the endpoint queues a delivery that is held.
  await page.waitForTimeout(Math.max(0, suspendedAt + 2500 - Date.now()));
  const resend = await page.request.post("/api/resend_event", {
    data: { tenant_id: f.acme, id: event.id, endpoint_id: hook.id },
    headers: { accept: "application/json", origin: BASE_URL },
  });
  expect(resend.status(), await resend.text()).toBe(200);
  await page.waitForTimeout(2000);
  expect(rx.requests.length).toBe(1);

  await page.getByRole("link", { name: "Tenants" }).click();
  await row.getByRole("button", { name: "Resume Acme" }).click();
  await expect(row).not.toContainText("Suspended");
  await expect.poll(() => rx.requests.length, { timeout: 15_000 }).toBe(2);
  expect((await page.request.get("/api/v1/webhooks", { headers: rest() })).status()).toBe(200);
  await rx.close();
});

for (const theme of ["light", "dark"] as const) {
  test(`the Users, Tenants, Account and link pages pass an axe scan, ${theme}`, async ({ page, browser }) => {
    const f = fixtures();
    await useTheme(page, theme);
    await login(page, f.admin);
    const path = await invite(page, `axe-${theme}-${Date.now()}@acme.test`);
    for (const where of ["people", "tenants", "account"]) {
      await page.goto(`/t/${f.acme}/${where}`);
      await hydrated(page);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      await expect(page.getByRole("table").first()).toBeVisible();
      const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
      const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      expect(serious, `${where}: ${JSON.stringify(serious.map((v) => [v.id, v.nodes.map((n) => n.target)]))}`).toEqual([]);
    }
    const ctx = await browser.newContext();
    await ctx.addCookies([{ name: "hub_theme", value: theme, url: BASE_URL }]);
    const p = await ctx.newPage();
    await p.goto(path);
    await hydrated(p);
    await expect(p.getByRole("heading", { name: "Welcome" })).toBeVisible();
    const results = await new AxeBuilder({ page: p }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
    expect(results.violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
    await ctx.close();
  });
}
