import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { repoRoot } from "../helpers/cluster";

/** Debian's Chromium (`apt-get install chromium`); Playwright's own browser downloads do not work here. */
export function chromiumPath(): string {
	return process.env.CHROMIUM_PATH || "/usr/bin/chromium";
}

/**
 * Headless Chromium without any network of its own: no background traffic, updates or sync, which
 * a machine without internet access refuses noisily. Playwright gives each launch a fresh profile.
 */
export async function launchBrowser(): Promise<Browser> {
	return chromium.launch({
		executablePath: chromiumPath(),
		headless: true,
		args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
		timeout: 60_000,
	});
}

export const screenshotDir = path.join(repoRoot, "test-output", "screenshots");

/** Saves a full-page screenshot under test-output/screenshots/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
	fs.mkdirSync(screenshotDir, { recursive: true });
	const file = path.join(screenshotDir, `${name}.png`);
	await page.screenshot({ path: file, fullPage: true });
	return file;
}

/** A page whose console errors and failed requests are collected, for a failing test to show. */
export async function newPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
	const page = await context.newPage();
	const problems: string[] = [];
	page.on("pageerror", err => problems.push(`page error: ${err.message}`));
	page.on("console", msg => {
		if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
	});
	page.setDefaultTimeout(30_000);
	return { page, problems };
}
