import type { FileEntry, FileListing } from '@agentpod/contracts';
import { ApiError, api, apiUrl, CSRF_COOKIE, CSRF_HEADER, cookie } from '../api.ts';
import { entityTag, versionOfTag } from './content.ts';
import { targetPath, type WorkspaceTarget } from './target.ts';

/*
 * The file routes of a pod's volume or a node's allowed roots (contracts/src/workspace.ts `workspaceRoutes`).
 * Small operations go through `api()`; content moves as raw bytes: downloads are plain links (the browser streams
 * them to disk), uploads are a streamed POST of the File itself (XHR, for its upload progress events).
 */

export class FilesApi {
  readonly #base: string;
  constructor(readonly target: WorkspaceTarget) {
    this.#base = `${targetPath(target)}/files`;
  }

  list(path: string, signal?: AbortSignal): Promise<FileListing> {
    return api<FileListing>('GET', this.#base, { query: { path }, signal });
  }
  mkdir(path: string): Promise<FileEntry> {
    return api<FileEntry>('POST', `${this.#base}/mkdir`, { body: { path } });
  }
  move(from: string, to: string, overwrite = false): Promise<FileEntry> {
    return api<FileEntry>('POST', `${this.#base}/move`, { body: { from, to, overwrite } });
  }
  chmod(path: string, mode: string): Promise<FileEntry> {
    return api<FileEntry>('POST', `${this.#base}/chmod`, { body: { path, mode } });
  }
  remove(path: string, recursive: boolean): Promise<void> {
    return api<void>('DELETE', this.#base, { query: { path, recursive: recursive ? 'true' : 'false' } });
  }

  /** The download link (the session cookie authorises it; the answer is an attachment). */
  downloadUrl(path: string): string {
    return apiUrl(`${this.#base}/content`, { path });
  }

  /** A whole file's bytes and version (for the editor, which only reads files it may hold: ≤ 2 MB). */
  async read(path: string, signal?: AbortSignal): Promise<{ content: Uint8Array; version: string | undefined }> {
    const response = await fetch(this.downloadUrl(path), { credentials: 'same-origin', signal });
    if (!response.ok) throw await errorOf(response);
    return {
      content: new Uint8Array(await response.arrayBuffer()),
      version: versionOfTag(response.headers.get('etag')),
    };
  }

  /**
   * Writes `body` to `path` (replacing it atomically on the node). `ifVersion`: the version it must still have,
   * else ApiError 409 `conflict`. Progress reports bytes sent of the total.
   */
  upload(
    path: string,
    body: Blob,
    options: {
      ifVersion?: string;
      overwrite?: boolean;
      signal?: AbortSignal;
      onProgress?: (sent: number, total: number) => void;
    } = {},
  ): Promise<FileEntry> {
    const url = apiUrl(`${this.#base}/content`, {
      path,
      overwrite: options.overwrite === false ? 'false' : undefined,
    });
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open('POST', url);
      request.withCredentials = true;
      request.setRequestHeader('content-type', 'application/octet-stream');
      request.setRequestHeader('accept', 'application/json');
      const csrf = cookie(CSRF_COOKIE);
      if (csrf) request.setRequestHeader(CSRF_HEADER, csrf);
      if (options.ifVersion !== undefined) request.setRequestHeader('if-match', entityTag(options.ifVersion));
      request.upload.onprogress = (event) =>
        options.onProgress?.(event.loaded, event.lengthComputable ? event.total : body.size);
      request.onload = () => {
        const parsed = parseJson(request.responseText);
        if (request.status >= 200 && request.status < 300) resolve(parsed as FileEntry);
        else reject(apiErrorOf(request.status, parsed));
      };
      request.onerror = () =>
        reject(new ApiError(0, 'unavailable', 'The upload broke off: the control plane cannot be reached.'));
      request.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
      options.signal?.addEventListener('abort', () => request.abort(), { once: true });
      request.send(body);
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function apiErrorOf(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  return new ApiError(
    status,
    error?.code ?? 'internal',
    error?.message ?? `The server answered ${status}.`,
    error?.details,
  );
}

async function errorOf(response: Response): Promise<ApiError> {
  return apiErrorOf(response.status, parseJson(await response.text().catch(() => '')));
}
