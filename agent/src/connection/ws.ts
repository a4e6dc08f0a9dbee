import { WebSocket } from 'ws';

/*
 * The `ws` client and server, re-exported under the names the agent uses, so the rest of the agent (and its test
 * gateway) does not depend on the package's layout.
 */
export { WebSocket, WebSocketServer } from 'ws';
export type WsSocket = WebSocket;
export const WS_OPEN = WebSocket.OPEN;
