import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "../../lib/cli/main";
import { configPath, keyHint, readConfig, removeProfile, saveProfile, selectProfile } from "../../lib/cli/profiles";
import { connection } from "../../lib/cli/parse";

const KEY = "berth_0123456789ab_secretsecretsecretsecret00";
const OTHER = "berth_ba9876543210_othersecretothersecret0000";

let dir: string;
beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-profiles-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `berth` in-process against a fake gateway that takes KEY and OTHER and refuses any other key. */
async function cli(argv: string[], env: Record<string, string>) {
	let stdout = "";
	let stderr = "";
	const calls: { url: string; auth?: string }[] = [];
	const fetchImpl = (async (input: string | URL, init: RequestInit = {}) => {
		const auth = (init.headers as Record<string, string>).authorization;
		calls.push({ url: String(input), auth });
		const ok = auth === `Bearer ${KEY}` || auth === `Bearer ${OTHER}`;
		const body = ok ? (String(input).includes("/namespaces") ? [{ id: "n1", name: "team-a" }] : []) : { message: "Invalid API key", type: "UNAUTHORIZED", code: 401 };
		return new Response(JSON.stringify(body), { status: ok ? 200 : 401, headers: { "content-type": "application/json" } });
	}) as typeof fetch;
	const code = await run(argv, { stdout: { write: s => (stdout += s) }, stderr: { write: s => (stderr += s), isTTY: false }, env, fetch: fetchImpl });
	return { code, stdout, stderr, calls };
}

describe("the profile store", () => {
	it("writes the file 0600 in a 0700 directory, whole, and makes the saved profile current", () => {
		const file = path.join(dir, "nested", "berth", "config.json");
		saveProfile(file, "prod", { host: "berth.example.com", port: 443, apiKey: KEY });
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
		expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
		saveProfile(file, "dev", { host: "127.0.0.1", apiKey: OTHER });
		expect(readConfig(file)).toEqual({ current: "dev", profiles: { prod: { host: "berth.example.com", port: 443, apiKey: KEY }, dev: { host: "127.0.0.1", apiKey: OTHER } } });
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
		expect(fs.readdirSync(path.dirname(file))).toEqual(["config.json"]);
	});

	it("removes a profile and moves current to one that is left", () => {
		const file = path.join(dir, "config.json");
		saveProfile(file, "a", { host: "a", apiKey: KEY });
		saveProfile(file, "b", { host: "b", apiKey: OTHER });
		expect(removeProfile(file, "b")).toBe(true);
		expect(readConfig(file)).toEqual({ current: "a", profiles: { a: { host: "a", apiKey: KEY } } });
		expect(removeProfile(file, "b")).toBe(false);
		expect(removeProfile(file, "a")).toBe(true);
		expect(readConfig(file)).toEqual({ profiles: {} });
	});

	it("reads a missing file as no profiles, and refuses a broken one by name", () => {
		expect(readConfig(path.join(dir, "none.json"))).toEqual({ profiles: {} });
		fs.writeFileSync(path.join(dir, "bad.json"), "{nope");
		expect(() => readConfig(path.join(dir, "bad.json"))).toThrow(/bad\.json is not valid JSON/);
	});

	it("lives in BERTH_CONFIG, else ~/.config/berth/config.json", () => {
		expect(configPath({ BERTH_CONFIG: "/x/y.json", HOME: "/home/u" })).toBe("/x/y.json");
		expect(configPath({ HOME: "/home/u" })).toBe("/home/u/.config/berth/config.json");
	});

	it("shows keys by their public prefix only", () => {
		expect(keyHint(KEY)).toBe("berth_0123456789ab_…");
		expect(keyHint("something-else")).toBe("some…");
	});
});

describe("precedence: flags > env > profile > defaults", () => {
	const profile = { host: "profile.example", port: 4000, apiKey: KEY };
	it("takes each field from the first that has it", () => {
		expect(connection({}, {}, profile)).toEqual({ host: "profile.example", port: 4000, apiKey: KEY });
		expect(connection({}, { BERTH_PORT: "5000", BERTH_API_KEY: "env-key" }, profile)).toEqual({ host: "profile.example", port: 5000, apiKey: "env-key" });
		expect(connection({ host: "flag.example", port: 6000, apiKey: "flag-key" }, { BERTH_HOST: "env.example", BERTH_PORT: "5000", BERTH_API_KEY: "env-key" }, profile)).toEqual({ host: "flag.example", port: 6000, apiKey: "flag-key" });
		expect(connection({}, {})).toEqual({ host: "127.0.0.1", port: 3000, apiKey: undefined });
	});
	it("uses the current profile unless a host is named; a named profile always", () => {
		const config = { current: "a", profiles: { a: profile, b: { host: "b", apiKey: OTHER } } };
		expect(selectProfile(config, undefined, false)?.name).toBe("a");
		expect(selectProfile(config, undefined, true)).toBeUndefined();
		expect(selectProfile(config, "b", true)?.name).toBe("b");
		expect(() => selectProfile(config, "c", false)).toThrow(/No profile "c" \(there are: a, b\)/);
	});
});

describe("berth login, profiles and logout", () => {
	it("checks the key, stores the profile 0600, and later commands use it", async () => {
		const env = { BERTH_CONFIG: path.join(dir, "berth", "config.json") };
		const login = await cli(["login", "--host", "gw.example", "--port", "3100", "--api-key", KEY, "--profile", "prod"], env);
		expect(login).toMatchObject({ code: 0, stderr: "" });
		expect(login.stdout).toBe(`Logged in to gw.example:3100 as profile "prod" (key berth_0123456789ab_…), stored in ${env.BERTH_CONFIG}.\n`);
		expect(login.calls).toEqual([{ url: "http://gw.example:3100/api/v1/keys", auth: `Bearer ${KEY}` }]);
		expect(fs.statSync(env.BERTH_CONFIG).mode & 0o777).toBe(0o600);

		const list = await cli(["namespaces", "list", "--json"], env);
		expect(list.code).toBe(0);
		expect(list.calls).toEqual([{ url: "http://gw.example:3100/api/v1/k8s/namespaces", auth: `Bearer ${KEY}` }]);

		const profiles = await cli(["profiles"], env);
		expect(profiles.stdout).toMatch(/^\*\s+prod\s+gw\.example\s+3100\s+berth_0123456789ab_…$/m);
		expect(profiles.stdout).not.toContain("secret");
		const asJson = await cli(["profiles", "--json"], env);
		expect(asJson.stdout).not.toContain("secret");

		const logout = await cli(["logout"], env);
		expect(logout).toMatchObject({ code: 0, stdout: 'Profile "prod" removed.\n' });
		expect(readConfig(env.BERTH_CONFIG)).toEqual({ profiles: {} });
	});

	it("stores nothing for a key the gateway refuses, and wants a host and a key", async () => {
		const env = { BERTH_CONFIG: path.join(dir, "config.json") };
		const refused = await cli(["login", "--host", "gw.example", "--api-key", "berth_000000000000_wrongwrongwrongwrong00"], env);
		expect(refused.code).toBe(1);
		expect(refused.stderr).toContain("(401 UNAUTHORIZED)");
		expect(fs.existsSync(env.BERTH_CONFIG)).toBe(false);
		const missing = await cli(["login", "--api-key", KEY], env);
		expect(missing).toMatchObject({ code: 2, stderr: "Error: berth login needs --host and --api-key (or BERTH_HOST and BERTH_API_KEY).\n" });
	});

	it("does not send a stored key to another host named by flag or env, and refuses an unknown --profile", async () => {
		const env = { BERTH_CONFIG: path.join(dir, "config.json") };
		saveProfile(env.BERTH_CONFIG, "prod", { host: "gw.example", apiKey: KEY });
		const elsewhere = await cli(["namespaces", "list", "--host", "other.example"], env);
		expect(elsewhere.calls).toEqual([{ url: "http://other.example:3000/api/v1/k8s/namespaces", auth: undefined }]);
		const viaEnv = await cli(["namespaces", "list"], { ...env, BERTH_HOST: "other.example" });
		expect(viaEnv.calls[0].auth).toBeUndefined();
		const named = await cli(["namespaces", "list", "--profile", "prod", "--host", "gw2.example"], env);
		expect(named.calls).toEqual([{ url: "http://gw2.example:3000/api/v1/k8s/namespaces", auth: `Bearer ${KEY}` }]);
		const unknown = await cli(["namespaces", "list"], { ...env, BERTH_PROFILE: "staging" });
		expect(unknown).toMatchObject({ code: 2, calls: [] });
		expect(unknown.stderr).toMatch(/No profile "staging" \(there are: prod\)/);
	});
});
