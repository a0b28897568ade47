import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { dbRows, example, fixtures, hydrated, login, publish, useTheme } from "./helpers";

// end2end/serve.sh runs a real OAuth 2.0 server (oidc-provider, tests/oauth/server.mjs) on loopback and configures
// Google Calendar against it; the other five providers are left unconfigured.

async function openTab(page: Page) {
  await page.goto(`/t/${fixtures().acme}/integrations?tab=apps`);
  await hydrated(page);
  return page.getByRole("tabpanel", { name: "Connected apps" });
}

async function axe(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).include("#panel-apps").withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`), what).toEqual([]);
}

/** Whether the OAuth server takes `token` for a live token (as a provider's API would). */
async function tokenIsLive(page: Page, token: string): Promise<boolean> {
  const res = await page.request.post(`${fixtures().oauthUrl}/token/introspection`, {
    form: { token, client_id: "standin-resource-server", client_secret: "standin-resource-server-secret" },
  });
  expect(res.status()).toBe(200);
  return (await res.json()).active === true;
}

test("Connected apps: connect Google Calendar through the OAuth server, change a setting, tokens sealed, disconnect", async ({ page }) => {
  test.setTimeout(120_000);
  const f = fixtures();
  expect(f.oauthUrl, "serve.sh started no OAuth server (node or oidc-provider missing)").not.toBe("");
  await login(page, f.tenantUser);
  let panel = await openTab(page);
  const card = (id: string) => panel.locator(`[data-testid="app-card"][data-provider="${id}"]`);
  await expect(panel.getByTestId("app-card")).toHaveCount(6);
  await expect(card("google_calendar").getByTestId("app-status")).toHaveText("Not connected");
  await expect(card("outlook").getByTestId("app-status")).toHaveText("Not configured");
  await expect(card("outlook").getByTestId("app-missing-env")).toContainText("HUB_OAUTH_OUTLOOK_CLIENT_ID");
  await expect(card("outlook").getByTestId("app-missing-env")).toContainText("HUB_OAUTH_OUTLOOK_CLIENT_SECRET");
  await expect(card("outlook").getByRole("button", { name: /Connect/ })).toHaveCount(0);

  for (const theme of ["light", "dark"] as const) {
    await useTheme(page, theme);
    panel = await openTab(page);
    await expect(page.locator("html")).toHaveClass(theme === "dark" ? /dark/ : /^(?!.*dark)/);
    await expect(card("google_calendar")).toBeVisible();
    await axe(page, `Connected apps tab (${theme})`);
  }

  // Connect: the provider's own sign-in and consent pages, clicked through like a person does.
  await card("google_calendar").getByRole("button", { name: "Connect Google Calendar" }).click();
  await expect(page).toHaveURL(new RegExp(`^${f.oauthUrl}/interaction/`));
  await expect(page.getByRole("heading", { name: "Sign in as the test user" })).toBeVisible();
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page.getByRole("heading", { name: "Allow access" })).toBeVisible();
  await expect(page.getByText("calendar.events")).toBeVisible();
  await page.getByRole("button", { name: "Allow" }).click();

  // Back on the tab: the toast, and the one-time parameters gone from the address.
  await expect(page).toHaveURL(new RegExp(`/t/${f.acme}/integrations\\?tab=apps$`));
  await hydrated(page);
  await expect(page.getByTestId("toast").filter({ hasText: "Google Calendar connected" })).toBeVisible();
  panel = page.getByRole("tabpanel", { name: "Connected apps" });
  await expect(card("google_calendar").getByTestId("app-status")).toHaveText("Active");
  await expect(card("google_calendar").getByTestId("app-last-sync")).toHaveText("Last sync: never");

  // Settings: the server's 422 is shown by its field; a good value is saved and kept.
  await card("google_calendar").getByRole("button", { name: "Manage Google Calendar" }).click();
  const drawer = page.getByRole("dialog", { name: "Google Calendar" });
  await expect(drawer.getByTestId("manage-status")).toHaveText("Active");
  const calendar = drawer.getByLabel("Calendar ID");
  await expect(calendar).toHaveValue("primary");
  await calendar.fill("x".repeat(1025));
  await drawer.getByRole("button", { name: "Save settings" }).click();
  await expect(drawer.locator("#app-setting-calendar_id-error")).not.toBeEmpty();
  await expect(calendar).toHaveAttribute("aria-invalid", "true");
  await calendar.fill("team@example.com");
  await drawer.getByLabel("Email attendees").selectOption("all");
  await drawer.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByTestId("toast").filter({ hasText: "Google Calendar settings saved" })).toBeVisible();
  await expect(drawer.locator("#app-setting-calendar_id-error")).toBeEmpty();
  await axe(page, "the connection's drawer");

  // Sync now: the run's progress, then its row in the sync log.
  await drawer.getByLabel("Kind").selectOption("full");
  await drawer.getByRole("button", { name: "Sync now" }).click();
  await expect(drawer.getByTestId("sync-progress")).toContainText("Full sync finished", { timeout: 30_000 });
  await expect(drawer.getByTestId("sync-counts")).toHaveText(/\d+ processed · \d+ created · \d+ updated · \d+ failed/);
  await expect(drawer.getByTestId("sync-log-row").first()).toBeVisible();
  await expect(drawer.getByTestId("sync-log-row").first()).not.toHaveAttribute("data-status", "running");
  await page.keyboard.press("Escape");
  await expect(drawer).toBeHidden();

  panel = await openTab(page);
  await card("google_calendar").getByRole("button", { name: "Manage Google Calendar" }).click();
  await expect(page.getByRole("dialog", { name: "Google Calendar" }).getByLabel("Calendar ID")).toHaveValue("team@example.com");
  await page.keyboard.press("Escape");

  // On disk the tokens are sealed: nothing in the row is a token the provider would take.
  const rows = dbRows("SELECT access_token, refresh_token, settings FROM app_connections WHERE tenant_id = ? AND provider = ?", [f.acme, "google_calendar"]);
  expect(rows).toHaveLength(1);
  const [access, refresh, settings] = rows[0] as [string, string, string];
  expect(access).toMatch(/^v2:/);
  expect(refresh).toMatch(/^v2:/);
  expect(JSON.parse(settings)).toMatchObject({ calendar_id: "team@example.com", send_updates: "all" });
  for (const stored of [access, refresh, access.slice(3), refresh.slice(3)]) {
    expect(await tokenIsLive(page, stored), "a stored token value works at the provider").toBe(false);
  }

  // Disconnect (asked first): the card is back to "Not connected" and the tokens are gone.
  await card("google_calendar").getByRole("button", { name: "Disconnect Google Calendar" }).click();
  const confirm = page.getByRole("dialog", { name: "Disconnect app" });
  await expect(confirm).toContainText("Google Calendar");
  await confirm.getByRole("button", { name: "Disconnect" }).click();
  await expect(page.getByTestId("toast").filter({ hasText: "Google Calendar disconnected" })).toBeVisible();
  await expect(card("google_calendar").getByTestId("app-status")).toHaveText("Not connected");
  expect(dbRows("SELECT id FROM app_connections WHERE tenant_id = ?", [f.acme])).toHaveLength(0);
});

test("Connected apps: a provider's refusal comes back as an error toast", async ({ page }) => {
  const f = fixtures();
  expect(f.oauthUrl).not.toBe("");
  await login(page, f.tenantUser);
  const panel = await openTab(page);
  await panel.locator('[data-provider="google_calendar"]').getByRole("button", { name: "Connect Google Calendar" }).click();
  await expect(page).toHaveURL(new RegExp(`^${f.oauthUrl}/interaction/`));
  await page.getByRole("button", { name: "Deny" }).click();
  await expect(page).toHaveURL(new RegExp(`/t/${f.acme}/integrations\\?tab=apps$`));
  await expect(page.getByTestId("toast").filter({ hasText: "Google Calendar was not connected: access was denied" })).toBeVisible();
  await expect(panel.locator('[data-provider="google_calendar"]').getByTestId("app-status")).toHaveText("Not connected");
});

/** Sets the OAuth server's test controls (see tests/oauth/server.mjs). */
async function oauthControl(page: Page, path: string, data: object) {
  const res = await page.request.post(`${fixtures().oauthUrl}/__test/${path}`, { data });
  expect(res.status(), await res.text()).toBe(200);
}

/** Connects Google Calendar through the OAuth server's pages (the card's Connect, or Reconnect). */
async function connectGoogle(page: Page, button: "Connect" | "Reconnect") {
  const f = fixtures();
  const panel = await openTab(page);
  await panel.locator('[data-provider="google_calendar"]').getByRole("button", { name: `${button} Google Calendar` }).click();
  await expect(page).toHaveURL(new RegExp(`^${f.oauthUrl}/interaction/`));
  // Signed in at the provider already (a reconnect), the person sees only the consent page.
  const heading = page.getByRole("heading", { level: 1 });
  await expect(heading).toHaveText(/Sign in as the test user|Allow access/);
  if ((await heading.textContent()) !== "Allow access") {
    await page.getByRole("button", { name: "Allow" }).click();
    await expect(page.getByRole("heading", { name: "Allow access" })).toBeVisible();
  }
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page).toHaveURL(new RegExp(`/t/${f.acme}/integrations\\?tab=apps$`));
  await hydrated(page);
  await expect(page.getByTestId("toast").filter({ hasText: "Google Calendar connected" })).toBeVisible();
}

/** Opens the Google Calendar connection's drawer from its card. */
async function manageGoogle(page: Page) {
  const panel = await openTab(page);
  await panel.locator('[data-provider="google_calendar"]').getByRole("button", { name: "Manage Google Calendar" }).click();
}

function googleRow(): { access: string; expires: number; status: string } {
  const rows = dbRows("SELECT access_token, token_expires_at, status FROM app_connections WHERE tenant_id = ? AND provider = ?", [fixtures().acme, "google_calendar"]);
  expect(rows).toHaveLength(1);
  const [access, expires, status] = rows[0] as [string, number, string];
  return { access, expires, status };
}

test("Connected apps: an expired token is refreshed when used; a grant revoked at the provider turns the card to Error until Reconnect", async ({ page }) => {
  test.setTimeout(120_000);
  const f = fixtures();
  expect(f.oauthUrl).not.toBe("");
  await login(page, f.tenantUser);
  // Access tokens that live two seconds: every use after that needs the refresh token.
  await oauthControl(page, "settings", { access_ttl_seconds: 2 });
  try {
    await connectGoogle(page, "Connect");
    const first = googleRow();
    expect(first.status).toBe("active");
    await page.waitForTimeout(2500);

    // A trigger event makes the hub use the connection: it refreshes first (the calendar API itself is a closed
    // port here, so the request fails after that and is retried; the refresh is what this checks).
    await publish(page, "event.created", await example(page, "event.created"));
    await expect.poll(() => googleRow().access, { timeout: 20_000 }).not.toBe(first.access);
    const refreshed = googleRow();
    expect(refreshed.status).toBe("active");
    expect(refreshed.expires).toBeGreaterThan(first.expires);
    const panel = await openTab(page);
    const card = panel.locator('[data-provider="google_calendar"]');
    await expect(card.getByTestId("app-status")).toHaveText("Active");

    // The person removes the app at Google: the next use's refresh is refused, and the card says so.
    await oauthControl(page, "revoke", { client_id: "hub-e2e-google" });
    await page.waitForTimeout(2500);
    await publish(page, "event.updated", await example(page, "event.updated"));
    await expect.poll(() => googleRow().status, { timeout: 20_000 }).toBe("error");
    await openTab(page);
    await expect(card.getByTestId("app-status")).toHaveText("Error");
    await expect(card.getByTestId("app-error")).toContainText("Reconnect to authorise the hub again");
    await axe(page, "a connection in error");

    // Reconnect: the same connection, active again with new tokens.
    await oauthControl(page, "settings", { access_ttl_seconds: 3600 });
    await connectGoogle(page, "Reconnect");
    await expect(card.getByTestId("app-status")).toHaveText("Active");
    expect(googleRow().status).toBe("active");
  } finally {
    await oauthControl(page, "settings", { access_ttl_seconds: 3600 });
  }

  // Its request template, edited beside a preview of what it sends; a template that does not render is refused
  // by its field and nothing is saved.
  await manageGoogle(page);
  const drawer = page.getByRole("dialog", { name: "Google Calendar" });
  const preview = drawer.getByTestId("template-preview");
  await preview.getByRole("button", { name: "Preview" }).click();
  await expect(preview.getByTestId("preview-call")).toContainText("POST /calendar/v3/calendars/primary/events");
  const template = drawer.getByLabel("event template");
  const shipped = await template.inputValue();
  const prefixed = shipped.replace('"summary": {{ title | tojson }}', '"summary": {{ ("[Acme] " ~ title) | tojson }}');
  expect(prefixed).not.toBe(shipped);
  await template.fill(prefixed);
  await preview.getByRole("button", { name: "Preview" }).click();
  await expect(preview.getByTestId("preview-call")).toContainText('"summary": "[Acme] ');
  await template.fill('{"summary": {{ title }}}');
  await preview.getByRole("button", { name: "Preview" }).click();
  await expect(preview.getByTestId("preview-error")).toContainText("the event template");
  await drawer.getByRole("button", { name: "Save settings" }).click();
  await expect(drawer.locator("#app-setting-templates-error")).toContainText("is not JSON");
  expect(JSON.parse(dbRows("SELECT settings FROM app_connections WHERE tenant_id = ?", [f.acme])[0][0] as string).templates).toBeUndefined();
  await drawer.getByRole("button", { name: "Use the shipped event template" }).click();
  await template.fill(prefixed);
  await drawer.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByTestId("toast").filter({ hasText: "Google Calendar settings saved" })).toBeVisible();
  const saved = JSON.parse(dbRows("SELECT settings FROM app_connections WHERE tenant_id = ?", [f.acme])[0][0] as string);
  expect(saved.templates.event).toContain('"[Acme] "');
  await axe(page, "the templates editor and its preview");
  await page.keyboard.press("Escape");

  // A portal link shows the tab read-only: the connection, its settings and its preview, and no way to change them.
  await page.context().clearCookies();
  await login(page, f.admin);
  const made = await page.request.post("/api/create_portal_link", {
    data: { tenant_id: f.acme, input: { label: "apps read-only", expires_in_seconds: 3600 } },
    headers: { accept: "application/json", origin: new URL(page.url()).origin },
  });
  expect(made.status(), await made.text()).toBe(200);
  const link = new URL(((await made.json()) as { url: string }).url).pathname;
  const visitor = await page.context().browser()!.newContext();
  const v = await visitor.newPage();
  await v.goto(link);
  await v.getByRole("button", { name: "Open the Acme portal" }).click();
  await hydrated(v);
  await v.goto(`/t/${f.acme}/integrations?tab=apps`);
  await hydrated(v);
  const vcard = v.locator('[data-provider="google_calendar"]');
  await expect(vcard.getByTestId("app-status")).toHaveText("Active");
  await expect(vcard.getByRole("button", { name: /Disconnect|Reconnect/ })).toHaveCount(0);
  await expect(v.locator('[data-provider="zoom"]').getByRole("button", { name: /Connect/ })).toHaveCount(0);
  await vcard.getByRole("button", { name: "View Google Calendar" }).click();
  const vd = v.getByRole("dialog", { name: "Google Calendar" });
  await expect(vd.getByLabel("event template")).toBeDisabled();
  await expect(vd.getByRole("button", { name: "Save settings" })).toHaveCount(0);
  await expect(vd.getByRole("button", { name: "Sync now" })).toHaveCount(0);
  await vd.getByTestId("template-preview").getByRole("button", { name: "Preview" }).click();
  await expect(vd.getByTestId("preview-call")).toContainText('"[Acme] ');
  await visitor.close();
});


test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });
  test("the Connected apps tab does not scroll sideways", async ({ page }) => {
    await login(page, fixtures().tenantUser);
    await openTab(page);
    await expect(page.getByTestId("app-card").first()).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `the tab is ${overflow}px wider than the screen`).toBeLessThanOrEqual(0);
  });
});
