// index.ts: the wisp-client package: connect() to a wisp gate over
// WebSocket (ws://, wss://) or TCP (tcp://, Node only), requests as
// promises, pushes by command, and the frame codec beneath them.

export { connect, Client, encodeJson, decodeJson, decodeText } from "./client.js";
export type { Address, Body, ConnectOptions, RequestOptions, ReconnectOptions,
	PushHandler, OpenHandler, CloseHandler } from "./client.js";
export { WispError } from "./errors.js";
export type { WispErrorCode } from "./errors.js";
export { FrameDecoder, encodeFrame, decodeErrorBody, HEADER_SIZE,
	DEFAULT_ERROR_COMMAND } from "./frame.js";
export type { Frame, Proto, ErrorBody } from "./frame.js";
