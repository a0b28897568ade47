import { test, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { ensureAcmeDelivery, fixtures, hydrated, login, useTheme } from "./helpers";

test.use({ permissions: ["clipboard-read", "clipboard-write"] });

// The checks below need an Acme endpoint with a delivery; earlier specs usually made one, but not when run alone.
test.beforeEach(async ({ page }) => ensureAcmeDelivery(page));

test("a tenant user sees only their own tenant, in the UI and through crafted server function calls", async ({ page }) => {
  const f = fixtures();
  await login(page, f.tenantUser);
  await expect(page).toHaveURL(new RegExp(`/t/${f.acme}/integrations`));
  await expect(page.getByLabel("Tenant")).toBeDisabled();
  await expect(page.getByLabel("Tenant").locator("option")).toHaveText(["Acme"]);
  await expect(page.getByRole("tabpanel", { name: "Webhooks" }).getByTestId("webhook-card").first()).toBeVisible();
  await expect(page.getByRole("button", { name: "Portal link" })).toHaveCount(0);
  await page.getByRole("tab", { name: "Deliveries" }).click();
  await expect(page.getByRole("tabpanel", { name: "Deliveries" }).getByTestId("delivery-row").first()).toBeVisible();

  const other = await page.goto(`/t/${f.globex}/integrations`);
  expect(other!.status()).toBe(403);
  for (const [fn, body] of [
    ["list_deliveries", { tenant_id: f.globex, query: {} }],
    ["list_webhooks", { tenant_id: f.globex, search: null, status: null }],
    ["load_delivery_stats", { tenant_id: f.globex, webhook_id: null, window: "24h" }],
  ] as const) {
    const res = await page.request.post(`/api/${fn}`, { data: body, headers: { accept: "application/json" } });
    expect(res.status(), fn).toBe(403);
  }
});

test("an admin's portal link opens one tenant's pages, and a tampered one does not", async ({ page, browser }) => {
  const f = fixtures();
  await login(page, f.admin);
  await page.getByRole("button", { name: "Portal link" }).click();
  const dialog = page.getByRole("dialog", { name: "Portal link for Acme" });
  await dialog.getByLabel("Valid for").selectOption("1");
  await dialog.getByRole("button", { name: "Create link" }).click();
  const url = await dialog.getByLabel("Link", { exact: true }).inputValue();
  expect(url).toMatch(/\/portal\/ptl_[0-9A-Z]{26}\.[A-Za-z0-9_-]{43}$/);
  const path = new URL(url).pathname;

  const visitor = await browser.newContext();
  const p = await visitor.newPage();
  await p.goto(path);
  await p.getByRole("button", { name: "Open the Acme portal" }).click();
  await expect(p).toHaveURL(new RegExp(`/t/${f.acme}/integrations`));
  await hydrated(p);
  await expect(p.getByLabel("Tenant").locator("option")).toHaveText(["Acme"]);
  await expect(p.getByRole("tabpanel", { name: "Webhooks" }).getByTestId("webhook-card").first()).toBeVisible();
  expect((await p.goto(`/t/${f.globex}/integrations`))!.status()).toBe(403);

  // Changing anything in the link's secret makes it open nothing.
  const stranger = await (await browser.newContext()).newPage();
  const forged = path.slice(0, -1) + (path.endsWith("A") ? "B" : "A");
  const res = await stranger.goto(forged);
  expect(res!.status()).toBe(404);
  await expect(stranger.getByText("This portal link is not valid")).toBeVisible();
  await stranger.goto(`/t/${f.globex}/integrations`);
  await expect(stranger).toHaveURL(/\/login/);
  await visitor.close();
});

for (const theme of ["light", "dark"] as const) {
  test(`every tab and the tools page pass an axe scan (no serious or critical issues), ${theme}; screenshots saved`, async ({ page }, info) => {
    // Five full scans and full-page screenshots: ~30 s on a quiet machine, ~45 s on a busy one.
    test.setTimeout(120_000);
    const f = fixtures();
    await useTheme(page, theme);
    await login(page, f.admin);
    const pages = [
      ["webhooks", `/t/${f.acme}/integrations?tab=webhooks`],
      ["api-keys", `/t/${f.acme}/integrations?tab=api-keys`],
      ["deliveries", `/t/${f.acme}/integrations?tab=deliveries`],
      ["event-types", `/t/${f.acme}/integrations?tab=event-types`],
      ["tools", `/t/${f.acme}/tools`],
    ];
    for (const [name, url] of pages) {
      await page.goto(url);
      await hydrated(page);
      await expect(page.locator("html")).toHaveClass(theme === "dark" ? /dark/ : /^(?!.*dark)/);
      const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
      const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      expect(bad.map((v) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`), `${name} (${theme})`).toEqual([]);
      const shot = info.outputPath(`${name}-${theme}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      await info.attach(`${name}-${theme}`, { path: shot, contentType: "image/png" });
    }
  });
}
