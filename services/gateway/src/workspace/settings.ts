import { SESSION_KEEPALIVE_SECONDS } from '@agentpod/contracts';

/** How the workspace relay behaves; defaults suit production, tests shorten the timers. */
export type WorkspaceOptions = {
  /** AGENTPOD_TERMINAL_IDLE_SECONDS: a terminal with no input and no output this long is closed (4408). */
  terminalIdleMs: number;
  /** AGENTPOD_WORKSPACE_RECHECK_MS: an open terminal re-authenticates its caller and re-asks pods this often. */
  recheckMs: number;
  /** AGENTPOD_FILE_MAX_UPLOAD_BYTES: the largest upload the gateway relays. */
  maxUploadBytes: number;
  /** A terminal socket whose first message is not `start` within this is closed (4400). */
  startTimeoutMs: number;
  /** The gateway's keepalive on every open agent session (the agent ends one silent for 3×). */
  keepaliveMs: number;
};

export const defaultWorkspaceOptions = (): WorkspaceOptions => ({
  terminalIdleMs: 1800 * 1000,
  recheckMs: 5_000,
  maxUploadBytes: 1024 ** 3,
  startTimeoutMs: 10_000,
  keepaliveMs: SESSION_KEEPALIVE_SECONDS * 1000,
});
