import * as fs from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { kube, uniqueName } from "../helpers/cluster";
import { request, startMesh, type Mesh } from "../helpers/mesh";
import { launchBrowser, newPage, screenshot } from "./browser";

/**
 * The dashboard in a real browser (Debian's Chromium, headless, driven by playwright-core) against a
 * mesh on the local control plane: what a person signing in would do and see.
 */

// Functions passed to page.evaluate run in the page; these globals are the page's, not Node's.
declare const document: { querySelector(s: string): { textContent: string | null; getAttribute(a: string): string | null } | null; querySelectorAll(s: string): { length: number }; body: unknown; cookie: string; documentElement: { scrollWidth: number } };
declare const window: Record<string, unknown>;
declare const sessionStorage: { getItem(k: string): string | null };
declare const localStorage: { length: number };
declare const MutationObserver: new (cb: () => void) => { observe(target: unknown, opts: object): void };

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs", "k8s.jobs", "k8s.status", "k8s.inventory", "k8s.applications"];
const READY_TIMEOUT = 120_000;

describe("the dashboard at /ui, in Chromium, against the local control plane", () => {
	let mesh: Mesh;
	let browser: Browser;
	let context: BrowserContext;
	let page: Page;
	let problems: string[];
	let key: string;
	const user = uniqueName("ui-user");
	const nsName = uniqueName("ui-test");
	const appsNamespace = uniqueName("ui-apps");
	let deploymentId = "";

	beforeAll(async () => {
		process.env.APPS_NAMESPACE = appsNamespace;
		process.env.PUBLIC_HOST = "apps.berth.test";
		// Heartbeats every 2 s: the streams the dashboard holds see several during the run.
		process.env.STATUS_HEARTBEAT_SECONDS = "2";
		mesh = await startMesh(SERVICES);
		const created = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: "dashboard", userID: user } });
		expect(created.status).toBe(201);
		key = created.body.key;
		browser = await launchBrowser();
		context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
		({ page, problems } = await newPage(context));
	});

	afterAll(async () => {
		await context?.close().catch(() => undefined);
		await browser?.close().catch(() => undefined);
		if (mesh) {
			const mine = await request<{ id: string; name: string }[]>(`${mesh.url}/api/v1/k8s/namespaces`, { key });
			for (const ns of Array.isArray(mine.body) ? mine.body : []) await request(`${mesh.url}/api/v1/k8s/namespaces/${ns.id}`, { method: "DELETE", key });
			await mesh.stop();
		}
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: appsNamespace }).catch(() => undefined);
		for (const k of ["APPS_NAMESPACE", "PUBLIC_HOST", "STATUS_HEARTBEAT_SECONDS"]) delete process.env[k];
	});

	afterEach(() => {
		// Uncaught errors in the page are bugs, whatever the test checked.
		expect(problems.filter(p => p.startsWith("page error"))).toEqual([]);
	});

	it("refuses a wrong key with the API's message, and signs in with a real one kept only in sessionStorage", async () => {
		await page.goto(`${mesh.url}/ui/`);
		await page.getByTestId("api-key").fill("berth_nope_not-a-key");
		await page.getByTestId("signin-submit").click();
		await page.getByTestId("error").waitFor();
		expect(await page.getByTestId("error").textContent()).toMatch(/401.*(API key|Invalid)/i);
		await screenshot(page, "signin");

		await page.getByTestId("api-key").fill(key);
		await page.getByTestId("signin-submit").click();
		await page.getByTestId("nav-namespaces").waitFor();
		const storage = await page.evaluate(() => ({ session: sessionStorage.getItem("berth.apiKey"), local: localStorage.length, cookie: document.cookie }));
		expect(storage).toEqual({ session: key, local: 0, cookie: "" });
		// Marks this document: if anything later reloads the page, the mark is gone.
		await page.evaluate(() => (window.__noReload = true));
	});

	it("shows the API's refusal of a bad namespace name, then creates one with quota bars", async () => {
		await page.getByTestId("namespace-name").fill("Not_A_Name");
		await page.getByTestId("namespace-create").click();
		const refusal = page.getByTestId("create-namespace").getByTestId("error");
		await refusal.waitFor();
		expect(await refusal.textContent()).toMatch(/422.*name/i);

		await page.getByTestId("namespace-name").fill(nsName);
		await page.getByTestId("namespace-create").click();
		const tile = page.getByTestId(`namespace-${nsName}`);
		await tile.waitFor();
		await tile.getByTestId("quota-cpu").waitFor();
		expect(await tile.getByTestId("quota-pods").textContent()).toMatch(/pods\s*0 \/ 20/);
		expect(await tile.getByTestId("quota-memory").textContent()).toContain("4Gi");
		await screenshot(page, "namespaces");
	});

	it("deploys nginx from the catalog and watches it become Ready without reloading", async () => {
		await page.getByTestId("nav-catalog").click();
		const nginx = page.getByTestId("image-nginx");
		await nginx.waitFor();
		await screenshot(page, "catalog");
		await nginx.getByTestId("deploy-nginx").click();
		await nginx.getByTestId("deploy-namespace").selectOption(nsName);
		await nginx.getByTestId("deploy-name").fill("web");
		await nginx.getByTestId("deploy-submit").click();

		await page.waitForURL(/#\/deployments\/[^/?]+/);
		deploymentId = /#\/deployments\/([^/?]+)/.exec(page.url())![1];
		await page.getByTestId("status").waitFor();
		const seen = new Set<string>();
		await page.exposeFunction("recordPhase", (p: string) => seen.add(p));
		await page.evaluate(() => {
			const report = () => {
				const el = document.querySelector('[data-testid="phase"]');
				if (el) (window.recordPhase as (p: string) => void)(el.getAttribute("data-phase") ?? "");
			};
			report();
			new MutationObserver(report).observe(document.body, { subtree: true, childList: true, attributes: true });
		});
		await page.locator('[data-testid="phase"][data-phase="Ready"]').waitFor({ timeout: READY_TIMEOUT });
		expect(await page.getByTestId("stream-state").textContent()).toContain("live");
		expect(await page.getByTestId("ready-replicas").textContent()).toBe("1/1");
		expect(await page.evaluate(() => window.__noReload)).toBe(true);
		expect([...seen]).toContain("Ready");
		await page.getByTestId("pods").waitFor();
		expect(await page.getByTestId("pods").locator("tbody tr").count()).toBe(1);
		await screenshot(page, "deployment");
	});

	it("scales it, and the stream shows the new pod ready", async () => {
		await page.getByTestId("replicas").fill("2");
		await page.getByTestId("scale-submit").click();
		await page.waitForFunction(() => document.querySelector('[data-testid="ready-replicas"]')?.textContent === "2/2", undefined, { timeout: READY_TIMEOUT });
		await page.locator('[data-testid="phase"][data-phase="Ready"]').waitFor({ timeout: READY_TIMEOUT });
		await page.waitForFunction(() => document.querySelectorAll('[data-testid="pods"] tbody tr').length === 2, undefined, { timeout: READY_TIMEOUT });
		const live = await request(`${mesh.url}/api/v1/k8s/deployments/${deploymentId}`, { key });
		expect(live.body.replicas).toBe(2);
		expect(await page.evaluate(() => window.__noReload)).toBe(true);
	});

	it("reads its logs, and follows them", async () => {
		await page.getByTestId("tab-logs").click();
		await page.waitForFunction(() => /berth simulated log line 5/.test(document.querySelector('[data-testid="log-text"]')?.textContent ?? ""));
		const text = (await page.getByTestId("log-text").textContent()) ?? "";
		// Two pods: each line says which.
		expect(text).toMatch(/^\[web-[a-z0-9-]+\] berth simulated log line 1/m);
		await screenshot(page, "logs");
		await page.getByTestId("logs-follow").check();
		await page.waitForFunction(() => /berth simulated log line 5/.test(document.querySelector('[data-testid="log-text"]')?.textContent ?? ""));
		await page.getByTestId("logs-follow").uncheck();
	});

	it("shows its events, and its envs with secret values masked", async () => {
		await page.getByTestId("tab-events").click();
		await page.getByTestId("events").waitFor();
		await page.getByTestId("tab-envs").click();
		const envs = page.getByTestId("envs");
		await envs.waitFor();
		await envs.getByLabel("Key").fill("API_TOKEN");
		await envs.getByLabel("secret").check();
		await envs.getByLabel("Value").fill("s3cr3t-value");
		await envs.getByRole("button", { name: "Add" }).click();
		const row = page.getByTestId("env-API_TOKEN");
		await row.waitFor();
		expect(await row.textContent()).toContain("••••••••");
		expect(await page.content()).not.toContain("s3cr3t-value");
		await screenshot(page, "envs");
	});

	it("lists the deployment with its live status", async () => {
		await page.getByTestId("nav-deployments").click();
		await page.locator('[data-testid="deployment-phase-web"]').waitFor();
		// The env just added rolls the pods: the list follows the namespace stream back to Ready.
		await page.locator('[data-testid="deployment-phase-web"][data-phase="Ready"]').waitFor({ timeout: READY_TIMEOUT });
		expect(await page.getByTestId("deployment-row-web").textContent()).toContain("2/2");
		const file = await screenshot(page, "deployments");
		expect(fs.statSync(file).size).toBeGreaterThan(5_000);
	});

	it("runs a job and shows its output", async () => {
		await page.getByTestId("nav-jobs").click();
		await page.getByTestId("job-namespace").selectOption(nsName);
		await page.getByTestId("job-cmd").fill(`echo "hello from the dashboard"`);
		await page.getByTestId("job-run").click();
		await page.waitForURL(/#\/jobs\/[^/?]+/);
		await page.locator('[data-testid="job-phase"][data-phase="Complete"]').waitFor({ timeout: READY_TIMEOUT });
		// kwok runs no containers: every pod's log is the cluster's simulated text.
		await page.waitForFunction(() => /berth simulated log line/.test(document.querySelector('[data-testid="job-logs"]')?.textContent ?? ""), undefined, { timeout: 60_000 });
		await screenshot(page, "job");
		await page.getByTestId("nav-jobs").click();
		await page.getByTestId("jobs").getByText("hello from the dashboard").waitFor();
		await screenshot(page, "jobs");
	});

	it("launches an application and shows its location and culling countdown", async () => {
		await page.getByTestId("nav-applications").click();
		const templates = page.getByTestId("templates");
		await templates.getByRole("button", { name: "Launch" }).first().waitFor();
		await templates.getByRole("button", { name: "Launch" }).first().click();
		const table = page.getByTestId("applications");
		// The launch answers with the instance, or with the API's refusal: either shows.
		await page.locator('[data-testid="applications"] tbody tr, [data-testid="templates"] [data-testid="error"]').first().waitFor({ timeout: 60_000 });
		const refusal = templates.getByTestId("error");
		if (await refusal.count()) throw new Error(`The launch was refused: ${await refusal.textContent()}`);
		await table.locator('tbody tr [data-phase="running"]').first().waitFor({ timeout: READY_TIMEOUT });
		const row = (await table.locator("tbody tr").first().textContent()) ?? "";
		expect(row).toContain("apps.berth.test");
		expect(row).toMatch(/\d+m \d{2}s|\d+h \d{2}m/);
		await screenshot(page, "applications");
		await table.getByRole("button", { name: "Stop" }).first().click();
		await table.locator('tbody tr [data-phase="deleted"]').first().waitFor({ timeout: 60_000 });
	});

	it("shows volumes and the inventory, with external objects marked", async () => {
		await page.getByTestId("nav-volumes").click();
		await page.getByTestId("volumes").waitFor();
		await screenshot(page, "volumes");
		// Made behind Berth's back (no managed-by label): the inventory marks it external.
		await kube().apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hand-made", namespace: nsName }, data: { a: "b" } });
		await page.getByTestId("nav-inventory").click();
		const inventory = page.getByTestId("inventory");
		await inventory.locator("tbody tr").first().waitFor({ timeout: 60_000 });
		expect(await inventory.textContent()).toContain("web");
		await inventory.getByLabel("Kind").selectOption("configmaps");
		const handMade = inventory.locator("tbody tr", { hasText: "hand-made" });
		await handMade.waitFor({ timeout: 60_000 });
		expect(await handMade.getAttribute("class")).toContain("external");
		expect(await handMade.textContent()).toContain("external");
		expect(await inventory.locator("tbody tr", { hasText: "web-env" }).textContent()).toContain("berth");
		await screenshot(page, "inventory");
	});

	it("shows an unknown deployment as the API's 404, not a blank page", async () => {
		await page.goto(`${mesh.url}/ui/#/deployments/000000000000000000000000`);
		const error = page.getByTestId("error").first();
		await error.waitFor();
		expect(await error.textContent()).toMatch(/404.*not found/i);
	});

	it("is readable on a phone: the menu folds and tables stack", async () => {
		const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
		try {
			const { page: small } = await newPage(phone);
			await small.goto(`${mesh.url}/ui/`);
			await small.getByTestId("api-key").fill(key);
			await small.getByTestId("signin-submit").click();
			await small.goto(`${mesh.url}/ui/#/deployments`);
			await small.locator('[data-testid="deployment-phase-web"][data-phase="Ready"]').waitFor({ timeout: READY_TIMEOUT });
			expect(await small.getByTestId("nav-jobs").isVisible()).toBe(false);
			await small.getByRole("button", { name: /Menu/ }).click();
			expect(await small.getByTestId("nav-jobs").isVisible()).toBe(true);
			await small.getByRole("button", { name: /Menu/ }).click();
			const width = await small.evaluate(() => document.documentElement.scrollWidth);
			expect(width).toBeLessThanOrEqual(390);
			await screenshot(small, "deployments-phone");
		} finally {
			await phone.close();
		}
	});

	it("signs out and forgets the key", async () => {
		await page.goto(`${mesh.url}/ui/#/namespaces`);
		await page.getByTestId("signout").click();
		await page.getByTestId("signin").waitFor();
		expect(await page.evaluate(() => sessionStorage.getItem("berth.apiKey"))).toBeNull();
	});
});
