// errors.ts: the one error type the SDK rejects and throws with; its code
// says which way a request or connection failed, its message why.

/** Why something failed:
 * - "error_frame": the gate answered with an error frame (see errorCode)
 * - "timeout": no answer within the request's timeout
 * - "closed": the connection closed (or was not open) before an answer
 * - "bad_frame": the server sent bytes that are not a frame
 * - "too_big": the body exceeds maxBody
 * - "connect": the connection could not be made
 * - "bad_request": an argument the SDK cannot send */
export type WispErrorCode = "error_frame" | "timeout" | "closed"
	| "bad_frame" | "too_big" | "connect" | "bad_request";

export class WispError extends Error {
	/** For "error_frame": the gate's reason code (1 no route, 2 no
	 * service, 3 node down, 4 overloaded, 5 handler error, 6 timeout,
	 * 7 service exited) and the failed command. */
	errorCode?: number;
	command?: number;

	constructor(readonly code: WispErrorCode, message: string) {
		super(message);
		this.name = "WispError";
	}
}
