import { test, expect } from "@playwright/test";
import { fixtures, hydrated, login } from "./helpers";

// Portal links are records: an admin creates one (its URL is shown once), sees it listed with who made it and
// when it expires, and revokes it; the link then opens nothing and the session it opened is over.
test("an admin creates a portal link, sees it listed, revokes it, and the link then says it was revoked", async ({ page, browser }) => {
  const f = fixtures();
  const label = `Support desk ${Date.now()}`;
  await login(page, f.admin);
  await page.getByRole("button", { name: "Portal link" }).click();
  const dialog = page.getByRole("dialog", { name: "Portal link for Acme" });
  await dialog.getByLabel("Label (optional)").fill(label);
  await dialog.getByLabel("Valid for").selectOption("24");
  await dialog.getByRole("button", { name: "Create link" }).click();
  const url = await dialog.getByLabel("Link", { exact: true }).inputValue();
  expect(url).toMatch(/\/portal\/ptl_[0-9A-Z]{26}\.[A-Za-z0-9_-]{43}$/);
  const path = new URL(url).pathname;

  const row = dialog.getByTestId("portal-link-row").filter({ hasText: label });
  await expect(row).toContainText("Active");
  await expect(row).toContainText(`Created by ${f.admin.email}`);
  await expect(row).toContainText("Expires in 24 hours");

  // Opening it: a page naming the tenant, and only its button signs the browser in.
  const visitor = await browser.newContext();
  const v = await visitor.newPage();
  await v.goto(path);
  expect((await visitor.cookies()).map((c) => c.name)).not.toContain("hub_session");
  await v.getByRole("button", { name: "Open the Acme portal" }).click();
  await expect(v).toHaveURL(new RegExp(`/t/${f.acme}/integrations`));
  await hydrated(v);
  await expect(v.getByRole("heading", { name: "Integrations", level: 1 })).toBeVisible();

  await row.getByRole("button", { name: `Revoke ${label}` }).click();
  await expect(row).toContainText("Revoked");
  await expect(row.getByRole("button", { name: `Revoke ${label}` })).toHaveCount(0);

  // The link is dead, and so is the session it opened.
  const stranger = await (await browser.newContext()).newPage();
  const res = await stranger.goto(path);
  expect(res!.status()).toBe(410);
  await expect(stranger.getByText("This portal link was revoked or has expired")).toBeVisible();
  await v.goto(`/t/${f.acme}/integrations`);
  await expect(v).toHaveURL(/\/login/);
  await visitor.close();
});
