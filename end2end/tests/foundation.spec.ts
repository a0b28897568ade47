import { test, expect } from "@playwright/test";
import { fixtures, hydrated, login } from "./helpers";

test.describe("foundation", () => {
  test("wrong password shows an error; the right one lands on Integrations", async ({ page }) => {
    const f = fixtures();
    await page.goto("/integrations");
    await expect(page).toHaveURL(/\/login\?next=\/integrations$/);
    await hydrated(page);
    await page.getByLabel("Email").fill(f.admin.email);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
    await expect(page).toHaveURL(/\/login\?next=\/integrations$/);

    await page.getByLabel("Password").fill(f.admin.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(new RegExp(`/t/${f.acme}/integrations`));
    await expect(page.getByRole("heading", { name: "Integrations", level: 1 })).toBeVisible();
    const nav = page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Integrations" });
    await expect(nav).toHaveAttribute("aria-current", "page");
  });

  test("tabs switch by mouse and keyboard and follow the URL", async ({ page }) => {
    await login(page, fixtures().admin);
    const tab = (name: string) => page.getByRole("tab", { name });
    await expect(tab("Webhooks")).toHaveAttribute("aria-selected", "true");

    await tab("API Keys").click();
    await expect(page).toHaveURL(/\?tab=api-keys$/);
    await expect(tab("API Keys")).toHaveAttribute("aria-selected", "true");
    await expect(page.getByRole("tabpanel", { name: "API Keys" })).toBeVisible();
    await expect(page.getByRole("tabpanel", { name: "Webhooks" })).toBeHidden();

    await tab("API Keys").press("ArrowRight");
    await expect(page).toHaveURL(/\?tab=apps$/);
    await expect(tab("Connected apps")).toBeFocused();
    await page.keyboard.press("End");
    await expect(page).toHaveURL(/\?tab=audit$/);
    await page.keyboard.press("ArrowRight");
    await expect(page).toHaveURL(/\?tab=webhooks$/);
    await expect(tab("Webhooks")).toBeFocused();
    await page.keyboard.press("ArrowLeft");
    await expect(tab("Audit")).toHaveAttribute("aria-selected", "true");

    // The URL alone selects the tab, server-rendered.
    await page.goto(page.url().replace(/\?tab=.*/, "?tab=deliveries"));
    await expect(tab("Deliveries")).toHaveAttribute("aria-selected", "true");
  });

  test("dark mode is persisted and rendered by the server (no flash)", async ({ page }) => {
    await login(page, fixtures().admin);
    const html = page.locator("html");
    const wasDark = (await html.getAttribute("class"))?.includes("dark") ?? false;
    await page.getByRole("button", { name: "Toggle dark mode" }).click();
    await expect(html).toHaveClass(wasDark ? /^(?!.*dark)/ : /dark/);
    if (wasDark) await page.getByRole("button", { name: "Toggle dark mode" }).click();
    await expect(html).toHaveClass(/dark/);

    // The server's HTML already carries the class: nothing to flash before scripts run.
    const res = await page.request.get(page.url());
    expect(await res.text()).toMatch(/<html[^>]*class="dark"/);

    await page.reload();
    await expect(html).toHaveClass(/dark/);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).not.toBe("rgb(248, 250, 252)"); // not the light slate-50 background

    // And back to light, also persisted.
    await hydrated(page);
    await page.getByRole("button", { name: "Toggle dark mode" }).click();
    await page.reload();
    await expect(html).not.toHaveClass(/dark/);
  });

  test("the modal closes with Esc and with a backdrop click, and traps focus", async ({ page }) => {
    await login(page, fixtures().admin);
    const help = page.getByRole("button", { name: "Help" });
    const dialog = page.getByRole("dialog", { name: "Help" });

    await help.click();
    await expect(dialog).toBeVisible();
    await expect(dialog).toHaveAttribute("aria-modal", "true");
    expect(await page.evaluate(() => document.body.style.overflow)).toBe("hidden");
    await expect(dialog.getByRole("button", { name: "Close" })).toBeFocused();
    // Close, then the API reference link; Tab from the last focusable wraps to the first: focus stays inside.
    await page.keyboard.press("Tab");
    await expect(dialog.getByRole("link", { name: "API reference" })).toBeFocused();
    await page.keyboard.press("Tab");
    await expect(dialog.getByRole("button", { name: "Close" })).toBeFocused();
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    expect(await page.evaluate(() => document.body.style.overflow)).toBe("");
    await expect(help).toBeFocused();

    await help.click();
    await expect(dialog).toBeVisible();
    await page.getByTestId("modal-backdrop").click({ position: { x: 5, y: 5 } });
    await expect(dialog).toBeHidden();

    // A click inside the dialog does not close it.
    await help.click();
    await dialog.getByRole("heading", { name: "Help" }).click();
    await expect(dialog).toBeVisible();
  });

  test("a tenant user cannot reach another tenant's page", async ({ page }) => {
    const f = fixtures();
    await login(page, f.tenantUser);
    await expect(page).toHaveURL(new RegExp(`/t/${f.acme}/integrations`));
    await expect(page.getByLabel("Tenant")).not.toContainText("Globex");

    const res = await page.goto(`/t/${f.globex}/integrations`);
    expect(res?.status()).toBe(403);
    await expect(page.getByRole("heading", { name: "Access denied" })).toBeVisible();
    await expect(page.getByText("Globex")).toHaveCount(0);
  });

  test("sign out ends the session", async ({ page }) => {
    const f = fixtures();
    await login(page, f.admin);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto(`/t/${f.acme}/integrations`);
    await expect(page).toHaveURL(new RegExp(`/login\\?next=/t/${f.acme}/integrations$`));
  });

  test("unknown pages are a 404 with a way back", async ({ page }) => {
    const res = await page.goto("/no/such/page");
    expect(res?.status()).toBe(404);
    await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Back to Integrations" })).toBeVisible();
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a page asked for without a session signs in on the server-rendered form and returns there", async ({ page }) => {
    const f = fixtures();
    await page.goto("/integrations");
    await expect(page).toHaveURL(/\/login\?next=\/integrations$/);
    await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
    await page.goto(`/t/${f.acme}/integrations?tab=api-keys`);
    await expect(page).toHaveURL(new RegExp(`/login\\?next=/t/${f.acme}/integrations%3Ftab%3Dapi-keys$`));
    await page.getByLabel("Email").fill(f.admin.email);
    await page.getByLabel("Password").fill(f.admin.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(new RegExp(`/t/${f.acme}/integrations\\?tab=api-keys$`));
    await expect(page.getByRole("heading", { name: "Integrations", level: 1 })).toBeVisible();
  });
});
