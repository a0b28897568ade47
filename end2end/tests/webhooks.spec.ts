import { test, expect } from "@playwright/test";
import { fixtures, login } from "./helpers";

test("endpoints created through the API show in the Webhooks tab and can be disabled", async ({ page }) => {
  const f = fixtures();
  const res = await page.request.post("/api/v1/webhooks", {
    headers: { Authorization: `Bearer ${f.acmeKey}` },
    data: { name: "Helpdesk sync", url: "https://hooks.example.com/in", events: ["ticket.created", "ticket.updated", "ticket.closed", "contact.*"] },
  });
  expect(res.status()).toBe(201);

  await login(page, f.admin);
  const panel = page.getByRole("tabpanel", { name: "Webhooks" });
  const card = panel.getByTestId("webhook-card").filter({ hasText: "Helpdesk sync" });
  await expect(card).toBeVisible();
  await expect(card).toContainText("https://hooks.example.com/in");
  await expect(card).toContainText("+1");
  await expect(card.getByTestId("webhook-status")).toHaveText("Active");
  await card.getByRole("button", { name: "Actions for Helpdesk sync" }).click();
  await page.getByRole("menuitem", { name: "Disable" }).click();
  await expect(card.getByTestId("webhook-status")).toHaveText("Disabled");

  // Switching to the other tenant shows none of Acme's endpoints.
  await page.getByLabel("Tenant").selectOption({ label: "Globex" });
  await expect(page).toHaveURL(new RegExp(`/t/${f.globex}/integrations`));
  await expect(page.getByRole("tabpanel", { name: "Webhooks" })).toContainText("No webhook endpoints here");
});

test("the event-type catalog is grouped by category with examples", async ({ page }) => {
  await login(page, fixtures().admin);
  await page.getByRole("tab", { name: "Event types" }).click();
  const panel = page.getByRole("tabpanel", { name: "Event types" });
  const tickets = panel.getByRole("region", { name: "Tickets" });
  await expect(tickets.getByTestId("event-type").filter({ hasText: "ticket.created" })).toBeVisible();
  await tickets.getByText("ticket.created", { exact: true }).click();
  await expect(tickets.getByTestId("event-type").filter({ hasText: "ticket.created" }).locator("pre")).toContainText('"ticket"');
  await expect(panel.getByRole("region", { name: "Approvals" })).toContainText("approval.approved");
});
