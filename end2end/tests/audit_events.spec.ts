import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { example, fixtures, hydrated, login, publish, startReceiver, useTheme } from "./helpers";

/** No serious or critical axe findings inside `selector`. */
async function axe(page: Page, selector: string, what: string) {
  const results = await new AxeBuilder({ page }).include(selector).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`), what).toEqual([]);
}

for (const theme of ["light", "dark"] as const) {
  test(`an event found by a payload field is resent, the receiver gets it and the Audit tab shows who did it (${theme})`, async ({ page }) => {
    const f = fixtures();
    const rx = await startReceiver();
    const headers = { Authorization: `Bearer ${f.acmeKey}` };
    const hook = await page.request.post("/api/v1/webhooks", {
      headers,
      data: { name: `Audit events ${theme}`, url: rx.url, events: ["ticket.created"] },
    });
    expect(hook.status(), await hook.text()).toBe(201);
    // A ticket number of its own, so the search finds this event alone (both themes share the hub).
    const ticketId = `T-${theme}-${Date.now()}`;
    const data = structuredClone(await example(page, "ticket.created")) as { ticket: { id: string } };
    data.ticket.id = ticketId;
    const published = await publish(page, "ticket.created", data);
    await expect.poll(() => rx.requests.length).toBeGreaterThanOrEqual(1);
    const before = rx.requests.length;

    await useTheme(page, theme);
    await login(page, f.tenantUser);
    await page.getByRole("tab", { name: "Events" }).click();
    const panel = page.getByRole("tabpanel", { name: "Events" });
    await panel.getByLabel("Search").fill(`data.ticket.id = "${ticketId}"`);
    await panel.getByRole("button", { name: "Find events" }).click();
    const rows = panel.getByTestId("event-row");
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toHaveAttribute("data-event-id", published.id);
    await axe(page, '[role="tabpanel"]:not([hidden])', `Events tab (${theme})`);

    // A search the server would refuse is explained before it is sent.
    await panel.getByLabel("Search").fill(`data.ticket.id' OR 1=1 -- = "x"`);
    await expect(panel.getByRole("alert")).toContainText("dot-separated");
    await panel.getByLabel("Search").fill(`data.ticket.id = "${ticketId}"`);

    await rows.first().getByRole("link").click();
    const drawer = page.locator("#event-drawer");
    await expect(drawer.getByTestId("event-id")).toHaveText(published.id);
    await expect(drawer.getByTestId("body")).toContainText(ticketId);
    // Every Acme endpoint subscribed to ticket.created got it (an earlier run's too: the runs share the hub).
    const deliveries = drawer.getByTestId("event-delivery");
    await expect(deliveries.first()).toBeVisible();
    const first = await deliveries.count();
    await axe(page, "#event-drawer", `Event drawer (${theme})`);
    await drawer.getByRole("button", { name: "Resend to all subscribed endpoints" }).click();
    await expect(page.getByTestId("toast").filter({ hasText: /Queued \d+ new deliver/ })).toBeVisible();
    await expect.poll(() => rx.requests.length).toBe(before + 1);
    expect(JSON.parse(rx.requests[before].body).id).toBe(published.id);
    await expect(deliveries).toHaveCount(2 * first);
    await page.keyboard.press("Escape");

    await page.getByRole("tab", { name: "Audit" }).click();
    const audit = page.getByRole("tabpanel", { name: "Audit" });
    await audit.getByLabel("Action or kind (webhook)").fill("event.resent");
    await audit.getByRole("button", { name: "Apply filters" }).click();
    const entry = audit.getByTestId("audit-row").filter({ hasText: published.id });
    await expect(entry).toHaveCount(1);
    await expect(entry).toContainText(f.tenantUser.email);
    await expect(entry).toContainText("127.0.0.1");
    await entry.getByText("Before and after").click();
    await expect(entry).toContainText("deliveries");
    await axe(page, '[role="tabpanel"]:not([hidden])', `Audit tab (${theme})`);
    await rx.close();
  });
}
