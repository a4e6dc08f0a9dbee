/*
 * Whether the assistant's side panel is open, and a diagnosis asked for from a pod page. This is the only part in
 * the eager bundle: the panel itself (ChatPanel.svelte, the chat store, markdown-it) loads when first opened.
 */

export type DiagnosisRequest = { tenantId: string; podId: string; nonce: number };

class ChatPanelState {
  open = $state(false);
  /** Set by the Diagnose button; the panel takes it once it is mounted. */
  diagnosis = $state.raw<DiagnosisRequest | null>(null);
  #nonce = 0;

  toggle(): void {
    this.open = !this.open;
  }

  close(): void {
    this.open = false;
  }

  /** Opens the panel on a new conversation that streams the pod's diagnosis. */
  diagnose(tenantId: string, podId: string): void {
    this.#nonce += 1;
    this.diagnosis = { tenantId, podId, nonce: this.#nonce };
    this.open = true;
  }

  takeDiagnosis(): DiagnosisRequest | null {
    const request = this.diagnosis;
    this.diagnosis = null;
    return request;
  }
}

export const chatPanel = new ChatPanelState();
