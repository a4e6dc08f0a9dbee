// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {
    interface PageState {
      /** A new pod's access token, shown once on its page right after the create. */
      accessToken?: string;
    }
  }
}

export {};
