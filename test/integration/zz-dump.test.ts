import * as fs from "node:fs";
import { request, startMesh } from "../helpers/mesh";
it("dumps", async () => {
	const mesh = await startMesh([]);
	const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
	fs.writeFileSync("/tmp/apidocs/doc.json", JSON.stringify(doc, null, 1));
	await mesh.stop();
}, 60000);
