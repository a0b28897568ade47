import { test, expect } from "@playwright/test";
import { fixtures, hydrated, login } from "./helpers";

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
  await expect(tickets.getByTestId("event-type").filter({ hasText: "ticket.created" }).getByTestId("event-example")).toContainText('"ticket"');
  await expect(panel.getByRole("region", { name: "Approvals" })).toContainText("approval.approved");
});

test("admins add, edit and archive event types through the modal; tenant users only read the catalog", async ({ page, browser }) => {
  const f = fixtures();
  await login(page, f.admin);
  await page.getByRole("tab", { name: "Event types" }).click();
  const panel = page.getByRole("tabpanel", { name: "Event types" });
  await panel.getByRole("button", { name: "New event type" }).click();
  const dialog = page.getByRole("dialog", { name: "New event type" });
  await expect(dialog.getByLabel("Name", { exact: true })).toBeFocused();
  // Saving replaces an entry of the same name, so "New" refuses a taken one.
  await dialog.getByLabel("Name", { exact: true }).fill("ticket.created");
  await expect(dialog.locator("#et-name-error")).toHaveText("already exists; edit that entry instead");
  await expect(dialog.getByRole("button", { name: "Create event type" })).toBeDisabled();
  await dialog.getByLabel("Name", { exact: true }).fill("crm.deal_won");
  await expect(dialog.locator("#et-name-error")).toBeEmpty();
  await dialog.getByLabel("Category").fill("CRM");
  await dialog.getByLabel("Description").fill("Fires when a deal is marked won.");
  const example = dialog.getByLabel("Example payload");
  const create = dialog.getByRole("button", { name: "Create event type" });

  // Broken JSON is caught as it is typed; the form cannot be sent.
  await example.fill('{"deal": ');
  await expect(dialog.locator("#et-example-error")).toContainText("Not valid JSON");
  await expect(example).toHaveAttribute("aria-invalid", "true");
  await expect(create).toBeDisabled();

  // An example the schema rejects comes back from the server as a field error; nothing typed is lost.
  const schema = {
    type: "object",
    required: ["deal"],
    properties: { deal: { type: "object", required: ["id", "amount"], properties: { id: { type: "string" }, amount: { type: "integer" } } } },
  };
  const bad = '{"deal": {"id": "dl_1", "amount": "lots"}}';
  await example.fill(bad);
  await expect(dialog.locator("#et-example-error")).toBeEmpty();
  await dialog.getByLabel("Schema").fill(JSON.stringify(schema));
  await create.click();
  await expect(dialog.locator("#et-example-error")).toContainText('does not match the schema: data.deal.amount: "lots" is not of type "integer"');
  await expect(dialog.getByRole("alert")).toHaveText("Please correct the highlighted fields.");
  await expect(example).toHaveValue(bad);
  await expect(example).toHaveAttribute("aria-invalid", "true");
  await expect(dialog.getByLabel("Name", { exact: true })).toHaveValue("crm.deal_won");
  await expect(dialog.getByLabel("Category")).toHaveValue("CRM");
  await expect(dialog.getByLabel("Schema")).toHaveValue(JSON.stringify(schema));

  await example.fill('{"deal": {"id": "dl_1", "amount": 125000}}');
  await create.click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId("toast").filter({ hasText: "Saved crm.deal_won" })).toBeVisible();

  // Listed in its own category, with the example and schema highlighted.
  const crm = panel.getByRole("region", { name: "CRM", exact: true });
  const card = crm.getByTestId("event-type").filter({ hasText: "crm.deal_won" });
  await expect(card).toContainText("Fires when a deal is marked won.");
  await card.getByText("crm.deal_won", { exact: true }).click();
  const shownExample = card.getByRole("region", { name: "Example payload of crm.deal_won" });
  await expect(shownExample).toContainText('"amount": 125000');
  await expect(shownExample.locator("span", { hasText: '"deal"' })).toHaveClass(/text-indigo-700/);
  await expect(shownExample.locator("span", { hasText: "125000" })).toHaveClass(/text-amber-800/);
  await expect(card.getByRole("region", { name: "Schema of crm.deal_won" })).toContainText('"integer"');

  // Editing: the name is fixed, the description changes.
  await card.getByRole("button", { name: "Edit crm.deal_won" }).click();
  const edit = page.getByRole("dialog", { name: "Edit crm.deal_won" });
  await expect(edit.getByLabel("Name", { exact: true })).toHaveValue("crm.deal_won");
  await expect(edit.getByLabel("Name", { exact: true })).not.toBeEditable();
  await expect(edit.getByLabel("Archived")).not.toBeChecked();
  await edit.getByLabel("Description").fill("Fires when a deal is marked won; amount in cents.");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await expect(edit).toHaveCount(0);
  await expect(card.getByTestId("event-description")).toHaveText("Fires when a deal is marked won; amount in cents.");

  // Archiving flips the flag in place; it survives a reload and the REST API sees it too.
  await expect(card.getByTestId("archived-badge")).toHaveCount(0);
  await card.getByRole("button", { name: "Archive crm.deal_won", exact: true }).click();
  await expect(page.getByTestId("toast").filter({ hasText: "Archived crm.deal_won" })).toBeVisible();
  await expect(card.getByTestId("archived-badge")).toHaveText("Archived");
  await expect(card.getByRole("button", { name: "Unarchive crm.deal_won", exact: true })).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(card.getByTestId("archived-badge")).toHaveText("Archived");
  const res = await page.request.get("/api/v1/event-types", { headers: { Authorization: `Bearer ${f.acmeKey}` } });
  const saved = ((await res.json()).data as { name: string; archived: boolean; description: string; category: string }[]).find((t) => t.name === "crm.deal_won");
  expect(saved).toMatchObject({ archived: true, category: "CRM", description: "Fires when a deal is marked won; amount in cents." });

  // A tenant user reads the same catalog without any of the controls.
  const other = await browser.newContext();
  const p = await other.newPage();
  await login(p, f.tenantUser);
  await p.getByRole("tab", { name: "Event types" }).click();
  const tenantPanel = p.getByRole("tabpanel", { name: "Event types" });
  await expect(tenantPanel.getByTestId("event-type").filter({ hasText: "crm.deal_won" }).getByTestId("archived-badge")).toBeVisible();
  await expect(tenantPanel.getByRole("region", { name: "Tickets", exact: true }).getByTestId("event-type").filter({ hasText: "ticket.created" })).toBeVisible();
  await expect(p.getByRole("button", { name: "New event type" })).toHaveCount(0);
  await expect(tenantPanel.getByRole("button", { name: /^(Edit|Archive|Unarchive) / })).toHaveCount(0);
  await other.close();
});
