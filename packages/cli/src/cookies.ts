/** Cookies of one sign-in exchange (magic-link login only: sessions are cookies, the CLI keeps tokens). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  absorb(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const pair = line.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      // A cleared cookie (empty, or expired at once by Max-Age=0) is gone.
      if (value === '' || /;\s*max-age=0\s*(;|$)/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  get hasSession(): boolean {
    return [...this.#cookies.keys()].some((name) => name.endsWith('agentpod_session'));
  }

  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}
