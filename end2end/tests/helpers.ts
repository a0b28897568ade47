import { expect, Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Fixtures {
  acme: string;
  globex: string;
  admin: { email: string; password: string };
  tenantUser: { email: string; password: string };
  acmeKey: string;
}

export function fixtures(): Fixtures {
  return JSON.parse(readFileSync(join(__dirname, "..", ".state", "fixtures.json"), "utf8"));
}

/** Waits until the WASM bundle has hydrated the page (event handlers are live). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1, { timeout: 30_000 });
}

export async function login(page: Page, who: { email: string; password: string }) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Integrations", level: 1 })).toBeVisible();
  await hydrated(page);
}
