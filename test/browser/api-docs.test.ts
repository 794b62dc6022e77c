import type { Browser, BrowserContext, Page } from "playwright-core";
import { startMesh, type Mesh } from "../helpers/mesh";
import { launchBrowser, newPage, screenshot } from "./browser";

/** The API reference at /api/docs in a real browser: it renders the document's operations, loading nothing from elsewhere. */
describe("the API reference at /api/docs, in Chromium", () => {
	let mesh: Mesh;
	let browser: Browser;
	let context: BrowserContext;
	let page: Page;
	let problems: string[];
	const elsewhere: string[] = [];

	beforeAll(async () => {
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.deployments"]);
		browser = await launchBrowser();
		context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
		({ page, problems } = await newPage(context));
		page.on("request", req => {
			if (!req.url().startsWith(`${mesh.url}/`) && !req.url().startsWith("data:")) elsewhere.push(req.url());
		});
	});

	afterAll(async () => {
		await context?.close().catch(() => undefined);
		await browser?.close().catch(() => undefined);
		await mesh?.stop();
	});

	it("lists the operations with their summaries and answer schemas, without a key and without another origin", async () => {
		const res = await page.goto(`${mesh.url}/api/docs`);
		expect(res?.status()).toBe(200);
		await page.locator(".opblock-summary-path", { hasText: "/api/v1/k8s/deployments/{id}/scale" }).first().waitFor();
		expect(await page.locator(".opblock").count()).toBeGreaterThan(20);
		// Opened, the operation shows its example body and its answer's example, from lib/openapi/docs.ts.
		const scale = page.locator(".opblock", { has: page.locator(".opblock-summary-path", { hasText: /^\/api\/v1\/k8s\/deployments\/\{id\}\/scale$/ }) }).first();
		await scale.getByText("Set the number of replicas").waitFor();
		await scale.locator(".opblock-summary").click();
		await scale.locator(".opblock-body pre", { hasText: '"namespaceName": "shop"' }).first().waitFor();
		await scale.locator(".opblock-body pre", { hasText: '"replicas": 3' }).first().waitFor();
		// The schemas of the contract types are listed too.
		await page.locator("section.models").getByText("AdoptionPlan", { exact: true }).first().waitFor();
		await screenshot(page, "api-docs");
		expect(elsewhere).toEqual([]);
		expect(problems).toEqual([]);
	}, 120_000);
});
