import { test, expect, Page } from "@playwright/test";
import { fixtures, hydrated, login } from "./helpers";

test.use({ permissions: ["clipboard-read", "clipboard-write"] });

async function openKeysTab(page: Page) {
  await login(page, fixtures().admin);
  await page.getByRole("tab", { name: "API Keys" }).click();
  await expect(page).toHaveURL(/\?tab=api-keys$/);
}

/** Copies the revealed key through the UI, checks the clipboard, confirms and closes; returns the key. */
async function copyRevealedKey(page: Page): Promise<string> {
  const dialog = page.getByRole("dialog", { name: "Copy your API key" });
  await expect(dialog).toBeVisible();
  const key = await dialog.getByLabel("API key").inputValue();
  expect(key).toMatch(/^ihk_live_[0-9A-Za-z]{8}_[0-9A-Za-z]{43}$/);
  await dialog.getByRole("button", { name: "Copy" }).click();
  await expect(dialog.getByRole("button", { name: "Copied!" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);

  // It cannot be dismissed before confirming the copy.
  await expect(dialog.getByRole("button", { name: "Done" })).toBeDisabled();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("I have copied this key and stored it safely").check();
  await dialog.getByRole("button", { name: "Done" }).click();
  await expect(dialog).toBeHidden();
  return key;
}

test("create a key, see it once, copy it, use it; rotate and revoke from the UI", async ({ page }) => {
  await openKeysTab(page);
  const panel = page.getByRole("tabpanel", { name: "API Keys" });
  await panel.getByRole("button", { name: "New API key" }).first().click();
  const form = page.getByRole("dialog", { name: "New API key" });
  await form.getByLabel("Name").fill("CI deploy");
  await form.getByLabel("Description").fill("Publishes from the pipeline");
  await form.getByRole("button", { name: "Full access" }).click();
  await form.getByLabel("Rate limit").selectOption("pro");
  await form.getByRole("button", { name: "Create key" }).click();

  const key = await copyRevealedKey(page);
  const row = panel.getByTestId("key-row").filter({ hasText: "CI deploy" });
  await expect(row).toBeVisible();
  await expect(row.getByTestId("key-status")).toHaveText("Active");
  await expect(row).toContainText(key.slice(0, 17));
  await expect(row).toContainText("keys:write");

  // The key works against the REST API, from the test, with the rate-limit headers.
  const me = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${key}` } });
  expect(me.status()).toBe(200);
  expect((await me.json()).key.name).toBe("CI deploy");
  expect(me.headers()["x-ratelimit-limit"]).toBe("300");

  // Never shown again: not after a reload, not in the page at all.
  await page.reload();
  await hydrated(page);
  await expect(panel.getByTestId("key-row").filter({ hasText: "CI deploy" })).toBeVisible();
  expect(await page.content()).not.toContain(key);
  await expect(page.getByRole("dialog")).toHaveCount(0);

  // Rotate with no grace period: a new key is revealed once; the old one stops at once.
  await panel.getByRole("button", { name: "Rotate CI deploy" }).click();
  const rotate = page.getByRole("dialog", { name: "Rotate API key" });
  await rotate.getByLabel("Grace period").selectOption("0");
  await rotate.getByRole("button", { name: "Rotate key" }).click();
  const rotated = await copyRevealedKey(page);
  expect(rotated).not.toBe(key);
  expect(rotated.slice(0, 17)).toBe(key.slice(0, 17));
  expect((await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${key}` } })).status()).toBe(401);
  expect((await page.request.get("/api/v1/me", { headers: { "X-API-Key": rotated } })).status()).toBe(200);

  // Revoke, after confirming.
  await panel.getByRole("button", { name: "Revoke CI deploy" }).click();
  const confirm = page.getByRole("dialog", { name: "Revoke API key" });
  await confirm.getByRole("button", { name: "Revoke key" }).click();
  await expect(row.getByTestId("key-status")).toHaveText("Revoked");
  const after = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${rotated}` } });
  expect(after.status()).toBe(401);
  expect((await after.json()).error.message).toBe("API key has been revoked");
});

test("bad input is explained next to the field and the form keeps it", async ({ page }) => {
  await openKeysTab(page);
  const panel = page.getByRole("tabpanel", { name: "API Keys" });
  await panel.getByRole("button", { name: "New API key" }).first().click();
  const form = page.getByRole("dialog", { name: "New API key" });
  await form.getByLabel("Name").fill("Fenced");
  await form.getByLabel(/Allowed IPs/).fill("10.0.0.0/8\n10.0.0.0/33\nnot-an-ip");
  await form.getByRole("button", { name: "Create key" }).click();
  const err = form.locator("#key-ips-error");
  await expect(err).toContainText("line 2");
  await expect(err).toContainText("line 3");
  await expect(form.getByLabel("Name")).toHaveValue("Fenced");

  await form.getByLabel(/Allowed IPs/).fill("10.0.0.0/8\n2001:db8::/32");
  await form.getByRole("button", { name: "Create key" }).click();
  await copyRevealedKey(page);
  await expect(panel.getByTestId("key-row").filter({ hasText: "Fenced" })).toBeVisible();

  // Disable and enable from the row.
  await panel.getByRole("button", { name: "Disable Fenced" }).click();
  await expect(panel.getByTestId("key-row").filter({ hasText: "Fenced" }).getByTestId("key-status")).toHaveText("Disabled");
  await panel.getByRole("button", { name: "Enable Fenced" }).click();
  await expect(panel.getByTestId("key-row").filter({ hasText: "Fenced" }).getByTestId("key-status")).toHaveText("Active");
});
