/** What clients see of an instance and of a template. */
import type { ApplicationStatus, ApplicationView, BinderView, TemplateView } from "../api/applications";
import type { TemplateImage } from "./checks";
import { cullAt, instancePolicy, type CullPolicy } from "./culling";
import { isActive, type StoredApplication, type StoredStatus } from "./store";

function publicStatus(status: StoredStatus): ApplicationStatus {
	return status === "pending" ? "deploying" : status;
}

export function binderView(doc: StoredApplication): BinderView {
	return { id: doc.appId, "template-name": doc.template, location: doc.location ?? null, status: publicStatus(doc.status) };
}

export function applicationView(doc: StoredApplication, policy: CullPolicy): ApplicationView {
	const out: ApplicationView = {
		...binderView(doc),
		namespace: doc.namespaceName,
		owner: doc.owner,
		lastActivityAt: doc.lastActivityAt,
		createdAt: doc.createdAt,
		updatedAt: doc.updatedAt,
	};
	if (doc.reason) out.reason = doc.reason;
	if (doc.message) out.message = doc.message;
	if (doc.cleanup === "pending") out.terminating = true;
	if (isActive(doc)) out.cullAt = cullAt({ status: doc.status === "running" ? "running" : "deploying", createdAt: doc.createdAt, lastActivityAt: doc.lastActivityAt }, instancePolicy(policy, doc));
	if (doc.readyAt) out.readyAt = doc.readyAt;
	if (doc.endedAt) out.endedAt = doc.endedAt;
	return out;
}

export function templateView(image: TemplateImage): TemplateView {
	return {
		id: String(image.id),
		name: image.name,
		description: image.description,
		image: image.image,
		public: image.public === true,
		ports: image.ports ?? [],
		resources: image.resources,
	};
}
