import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { fixtures, hydrated, login, useTheme } from "./helpers";

/** Publishes `type` as Acme's producer (REST, from the test); returns the status. */
async function publishAs(page: Page, type: string): Promise<number> {
  const res = await page.request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${fixtures().acmeKey}` },
    data: { type, data: { invoice: { id: "inv_1", amount_due: 4200 } } },
  });
  return res.status();
}

/** No serious or critical axe findings on the Event types tab. */
async function axePanel(page: Page, what: string) {
  const results = await new AxeBuilder({ page })
    .include('[role="tabpanel"]')
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`), what).toEqual([]);
}

for (const theme of ["light", "dark"] as const) {
  test(`unregistered event types: an admin lets Acme publish them, they show as unregistered and can be registered (${theme})`, async ({ page, browser }) => {
    const f = fixtures();
    // Names of their own per theme: the two runs share the hub.
    const type = `billing.invoice_overdue_${theme}`;
    await useTheme(page, theme);
    await login(page, f.admin);
    await page.getByRole("tab", { name: "Event types" }).click();
    const panel = page.getByRole("tabpanel", { name: "Event types" });
    const toggle = panel.getByRole("switch", { name: "Accept unregistered event types for Acme" });
    await expect(toggle).toHaveAttribute("aria-checked", "false");
    await expect(toggle).toBeEnabled();

    // Off: the producer's unknown type is refused.
    expect(await publishAs(page, type)).toBe(422);

    // On: accepted, and listed as unregistered (with when it was first seen).
    await toggle.click();
    await expect(page.getByTestId("toast").filter({ hasText: "Unregistered event types are accepted" })).toBeVisible();
    await expect(toggle).toHaveAttribute("aria-checked", "true");
    expect(await publishAs(page, type)).toBe(202);
    await page.reload();
    await hydrated(page);
    await expect(toggle).toHaveAttribute("aria-checked", "true");
    const unregistered = panel.getByRole("region", { name: "Unregistered", exact: true });
    const card = unregistered.getByTestId("event-type").filter({ hasText: type });
    await expect(card.getByTestId("unregistered-badge")).toHaveText("Unregistered");
    await expect(card.getByTestId("event-description")).toContainText("first seen");
    await axePanel(page, `Event types with an unregistered type (${theme})`);

    // A tenant user sees it marked too, and the setting without a switch.
    const other = await browser.newContext();
    const p = await other.newPage();
    await useTheme(p, theme);
    await login(p, f.tenantUser);
    await p.getByRole("tab", { name: "Event types" }).click();
    const tenantPanel = p.getByRole("tabpanel", { name: "Event types" });
    await expect(tenantPanel.getByTestId("event-type").filter({ hasText: type }).getByTestId("unregistered-badge")).toBeVisible();
    await expect(tenantPanel.getByTestId("accept-unregistered-state")).toHaveText("On");
    await expect(tenantPanel.getByRole("switch")).toHaveCount(0);
    await expect(tenantPanel.getByRole("button", { name: `Register ${type}` })).toHaveCount(0);
    await other.close();

    // Registering it: the name is fixed, a category is needed; then it is an ordinary entry.
    await card.getByRole("button", { name: `Register ${type}` }).click();
    const dialog = page.getByRole("dialog", { name: `Register ${type}` });
    await expect(dialog.getByLabel("Name", { exact: true })).toHaveValue(type);
    await expect(dialog.getByLabel("Name", { exact: true })).not.toBeEditable();
    await dialog.getByLabel("Category").fill("Billing");
    await dialog.getByLabel("Description").fill("An invoice is past due.");
    await dialog.getByRole("button", { name: "Register event type" }).click();
    await expect(dialog).toHaveCount(0);
    const billing = panel.getByRole("region", { name: "Billing", exact: true });
    await expect(billing.getByTestId("event-type").filter({ hasText: type }).getByTestId("event-description")).toHaveText("An invoice is past due.");
    await expect(panel.getByTestId("event-type").filter({ hasText: type }).getByTestId("unregistered-badge")).toHaveCount(0);

    // Off again: other unknown types are refused once more.
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-checked", "false");
    expect(await publishAs(page, `billing.never_registered_${theme}`)).toBe(422);
  });
}
