import { parseImageReference, policyRefusal } from "../../lib/images/policy";
import { referenceEntry } from "../../lib/images/resolve";
import { jobRunOf, jobsSettings } from "../../lib/jobs/checks";

describe("image references", () => {
	it("reads registry, repository, tag and digest, Docker Hub's when no registry is named", () => {
		expect(parseImageReference("nginx:1.27")).toMatchObject({ registry: "docker.io", repository: "library/nginx", tag: "1.27", canonical: "docker.io/library/nginx:1.27" });
		expect(parseImageReference("hashicorp/http-echo:1.0")).toMatchObject({ registry: "docker.io", repository: "hashicorp/http-echo" });
		expect(parseImageReference("ghcr.io/acme/team/app:v2")).toMatchObject({ registry: "ghcr.io", repository: "acme/team/app", tag: "v2" });
		expect(parseImageReference("localhost:5000/app:dev")).toMatchObject({ registry: "localhost:5000", repository: "app" });
		const digest = `sha256:${"b".repeat(64)}`;
		expect(parseImageReference(`quay.io/acme/tool@${digest}`)).toMatchObject({ registry: "quay.io", digest, tag: undefined });
	});

	it("takes nothing without a tag or digest, and nothing malformed, for a reference", () => {
		for (const ref of ["ngnix", "ghcr.io/acme/app", "Nginx:1", "nginx:", "a//b:1", "nginx@sha256:short", `x:${"t".repeat(200)}`]) expect([ref, parseImageReference(ref)]).toEqual([ref, undefined]);
	});

	it("admits by registry, by repository and by pattern; anything when the policy is empty", () => {
		const ref = (r: string) => parseImageReference(r)!;
		expect(policyRefusal(ref("evil/miner:1"), [])).toBeUndefined();
		expect(policyRefusal(ref("ghcr.io/acme/app:1"), ["ghcr.io/acme/*"])).toBeUndefined();
		expect(policyRefusal(ref("ghcr.io/other/app:1"), ["ghcr.io/acme/*"])).toContain("IMAGE_POLICY");
		expect(policyRefusal(ref("nginx:1.27"), ["docker.io"])).toBeUndefined();
		expect(policyRefusal(ref("nginx:1.27"), ["docker.io/library/nginx"])).toBeUndefined();
		expect(policyRefusal(ref("docker.io/library/nginx-evil:1"), ["docker.io/library/nginx"])).toContain("IMAGE_POLICY");
		expect(policyRefusal(ref("quay.io.evil.com/x:1"), ["quay.io"])).toContain("IMAGE_POLICY");
	});

	it("answers a 422 on the caller's field for what is neither an entry nor an allowed reference", () => {
		expect(() => referenceEntry("ngnix", "image", true)).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "image", type: "reference" })] }));
		expect(() => referenceEntry("nginx:1.27", "template", false)).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "template" })] }));
		process.env.IMAGE_POLICY = "ghcr.io";
		try {
			expect(() => referenceEntry("nginx:1.27", "image", true)).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "image", type: "policy" })] }));
			expect(referenceEntry("nginx:1.27", "image", true, false)).toMatchObject({ id: "nginx:1.27", image: "nginx:1.27", ports: [], source: "reference" });
		} finally {
			delete process.env.IMAGE_POLICY;
		}
	});

	it("holds a job's image to the policy too, a tag optional there", () => {
		process.env.IMAGE_POLICY = "docker.io/library/*";
		try {
			const settings = jobsSettings({});
			expect(jobRunOf({ cmd: "true", image: "busybox" }, settings, "j").image).toBe("busybox");
			expect(() => jobRunOf({ cmd: "true", image: "ghcr.io/evil/miner:1" }, settings, "j")).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "image", type: "policy" })] }));
			// The default image is the operator's, not the caller's: not held to the policy.
			expect(jobRunOf({ cmd: "true" }, settings, "j").image).toBe(settings.defaultImage);
		} finally {
			delete process.env.IMAGE_POLICY;
		}
	});
});
