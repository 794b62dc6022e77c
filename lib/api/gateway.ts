/** The contract every REST answer shares (docs/api/README.md). */

/** The body of every error response; `code` is the HTTP status, `type` a stable string constant. */
export interface ErrorBody {
	name: string;
	message: string;
	code: number;
	type: string;
	data?: unknown;
}
