import { goto } from '$app/navigation';
import { live } from './live.svelte.ts';
import { pods } from './pods.svelte.ts';
import { session } from './session.svelte.ts';

/** The session ended (signed out here or elsewhere, expired, revoked): forget it and go to the sign-in page. */
export function signedOut(): void {
  live.stop();
  session.forget();
  pods.forget();
  void goto('/sign-in');
}
