import { z } from 'zod';
import type { ApiRoute } from './api.ts';
import { ErrorBody } from './errors.ts';
import { CreatePod, Encrypted } from './pod-lifecycle.ts';
import { PodId } from './pods.ts';
import { TenantId } from './tenants.ts';

/*
 * The AI assistant (services/ai). It speaks to any OpenAI-compatible chat-completions endpoint (a local Ollama by
 * default), streams answers, keeps conversations per user and tenant, and counts tokens.
 *
 * Streaming between services: the gateway subscribes to `ai.stream.<streamId>` (core NATS) BEFORE it sends the
 * `ai.cmd.ask` / `ai.cmd.diagnose` command carrying that stream id; the ai service answers the command at once
 * (`{ conversationId, messageId }`) and publishes AiStreamChunk messages on the subject until one `done` or `error`.
 * The gateway publishes `{}` on `ai.stream.<streamId>.stop` when its client goes or presses Stop: the ai service
 * aborts the upstream request and ends the stream with `done { stopped: true }`.
 *
 * Context (asked on a pod or node): recent logs (tail), recent events, health and alerts, a metrics summary and
 * the spec, with every secret value removed, trimmed to the model's budget. Logs and file text go to the model
 * only inside a data block of the user message, never as instructions. Suggested commands are text: nothing runs
 * unless the user clicks "Run in terminal", which types them into their own terminal session.
 */

export const ConversationId = z.string().regex(/^cnv_[a-z0-9]{20,40}$/, 'must be a conversation id (cnv_…)');
export const MessageId = z.string().regex(/^msg_[a-z0-9]{20,40}$/, 'must be a message id (msg_…)');
export const StreamId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);

export const AiBaseUrl = z.url().refine((value) => /^https?:\/\//.test(value), 'must be an http(s) URL');
export const AiModel = z.string().min(1).max(200);

/** What the assistant is asked about. */
export const AiSubject = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z.object({ kind: z.literal('pod'), tenantId: TenantId, podId: PodId }).strict(),
  z.object({ kind: z.literal('node'), nodeId: z.string().min(1).max(64) }).strict(),
]);
export type AiSubject = z.infer<typeof AiSubject>;

export const Usage = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof Usage>;

/** A command the assistant suggests, shown verbatim with "Run in terminal"; never run by the service. */
export const SuggestedCommand = z.object({ command: z.string().max(4096), explanation: z.string().max(2000) });

export const AiStreamChunk = z.discriminatedUnion('t', [
  /** A piece of the answer (markdown). */
  z.object({ t: z.literal('delta'), text: z.string() }).strict(),
  /** The end: the stored message and what it cost; `stopped` when the user stopped it. */
  z
    .object({
      t: z.literal('done'),
      messageId: MessageId,
      usage: Usage,
      stopped: z.boolean().default(false),
      commands: z.array(SuggestedCommand).default([]),
    })
    .strict(),
  /** Provider down, wrong key, unknown model, timeout…: a message meant for the user. */
  z.object({ t: z.literal('error'), error: ErrorBody }).strict(),
]);
export type AiStreamChunk = z.infer<typeof AiStreamChunk>;

export const ChatMessageView = z.object({
  id: MessageId,
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  usage: Usage.nullable(),
  stopped: z.boolean(),
  error: ErrorBody.nullable(),
  createdAt: z.string(),
});
export type ChatMessageView = z.infer<typeof ChatMessageView>;

export const ConversationView = z.object({
  id: ConversationId,
  tenantId: TenantId,
  userId: z.string(),
  title: z.string(),
  subject: AiSubject,
  createdAt: z.string(),
  updatedAt: z.string(),
  messages: z.array(ChatMessageView).optional(),
});
export type ConversationView = z.infer<typeof ConversationView>;

/** The automatic diagnosis made when the reconciler marked a pod failing (`latestDiagnosis`). */
export const DiagnosisView = z.object({
  tenantId: TenantId,
  podId: PodId,
  /** The reconciler's PodFailing event: also the `source.eventId` of the pod-failing alert it raised. */
  alertCauseEventId: z.string(),
  /** The assistant's explanation and suggested fix (markdown); empty when `error` is set. */
  text: z.string(),
  /** Why no diagnosis could be made (provider down, wrong key…); recorded once, not retried. */
  error: ErrorBody.nullable(),
  commands: z.array(SuggestedCommand),
  createdAt: z.string(),
});
export type DiagnosisView = z.infer<typeof DiagnosisView>;

export const AiConfigView = z.object({
  source: z.enum(['platform', 'tenant']),
  baseUrl: z.string(),
  model: z.string(),
  /** Whether a key is set; the key itself never leaves the ai service. */
  hasApiKey: z.boolean(),
});
export type AiConfigView = z.infer<typeof AiConfigView>;

export const UsageRow = z.object({
  tenantId: TenantId,
  userId: z.string().nullable(),
  requests: z.number().int().nonnegative(),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});

/** A generated pod, validated by the same schemas and security policy as a hand-written one. */
export const GeneratedPod = z.object({ body: CreatePod, notes: z.string().max(4000) });
export const GenerateResult = z.object({
  pods: z.array(GeneratedPod),
  /** What the model asked for and the policy refused (privileged, host mounts, Docker socket, host network…). */
  refused: z.array(z.object({ podId: z.string(), reason: z.string() })),
  usage: Usage,
});
export type GenerateResult = z.infer<typeof GenerateResult>;

export const AskInput = z
  .object({
    tenantId: TenantId,
    streamId: StreamId,
    /** Absent: a new conversation about `subject`. */
    conversationId: ConversationId.optional(),
    subject: AiSubject.default({ kind: 'none' }),
    message: z.string().min(1).max(20_000),
  })
  .strict();

export const AiCommands = {
  ask: AskInput,
  /** A diagnosis of a pod: explanation + suggested fix, streamed like `ask` (a new conversation). */
  diagnose: z.object({ tenantId: TenantId, podId: PodId, streamId: StreamId }).strict(),
  generateSpec: z.object({ tenantId: TenantId, prompt: z.string().min(1).max(4000) }).strict(),
  deleteConversation: z.object({ tenantId: TenantId, conversationId: ConversationId }).strict(),
  /** Tenant owners: override the platform's provider; `apiKey: null` removes the tenant's key; `reset` drops the override. */
  setTenantConfig: z
    .object({
      tenantId: TenantId,
      baseUrl: AiBaseUrl.optional(),
      model: AiModel.optional(),
      apiKey: z.string().min(1).max(500).nullable().optional(),
      reset: z.boolean().default(false),
    })
    .strict(),
} as const;

export const AiQueries = {
  listConversations: z.object({ tenantId: TenantId }).strict(),
  getConversation: z.object({ tenantId: TenantId, conversationId: ConversationId }).strict(),
  getConfig: z.object({ tenantId: TenantId }).strict(),
  /** Tenant owners/admins: their tenant's usage by user; platform admins: every tenant (no tenantId). */
  usage: z.object({ tenantId: TenantId.optional() }).strict(),
  /** The newest automatic diagnosis of a pod (viewer+ of the tenant), or null when none was made. */
  latestDiagnosis: z.object({ tenantId: TenantId, podId: PodId }).strict(),
} as const;

export const AiResults = {
  ask: z.object({ conversationId: ConversationId, messageId: MessageId }),
  diagnose: z.object({ conversationId: ConversationId, messageId: MessageId }),
  generateSpec: GenerateResult,
  deleteConversation: z.object({ deleted: z.literal(true) }),
  setTenantConfig: AiConfigView,
  listConversations: z.object({ conversations: z.array(ConversationView) }),
  getConversation: ConversationView,
  getConfig: AiConfigView,
  usage: z.object({ rows: z.array(UsageRow) }),
  latestDiagnosis: z.object({ diagnosis: DiagnosisView.nullable() }),
} as const satisfies Record<keyof typeof AiCommands | keyof typeof AiQueries, z.ZodType>;

/*
 * Events of the AI stream. Aggregates: a conversation `ai.evt.cnv_…`, a tenant's provider override
 * `ai.evt.aicfg_<tenant>`, a pod's automatic diagnoses `ai.evt.diag_<tenant>_<pod>`, a spec generation
 * `ai.evt.gen_…`. Titles and message contents are encrypted (kit cipher, bound to the conversation and message):
 * the audit log copies event data, and a conversation is its user's alone.
 */
const AiOverride = z.object({
  /** null: the platform's. */
  baseUrl: z.string().nullable(),
  model: z.string().nullable(),
  /** The tenant's key, encrypted; the platform's key is never sent to a tenant's own base URL. */
  apiKey: Encrypted.nullable(),
});
export const aiEvents = {
  ConversationStarted: z.object({
    conversationId: ConversationId,
    tenantId: TenantId,
    /** The user it belongs to; `system` for automatic diagnoses. */
    userId: z.string(),
    title: Encrypted,
    subject: AiSubject,
  }),
  MessageAdded: z.object({
    conversationId: ConversationId,
    tenantId: TenantId,
    /** The conversation's user: whose usage the tokens count as. */
    userId: z.string(),
    messageId: MessageId,
    role: z.enum(['user', 'assistant']),
    content: Encrypted,
    /** Tokens the provider reported for this answer (assistant messages; null when it reported none). */
    usage: Usage.nullable(),
    stopped: z.boolean(),
    error: ErrorBody.nullable(),
    model: z.string().nullable(),
  }),
  ConversationDeleted: z.object({ conversationId: ConversationId, tenantId: TenantId, userId: z.string() }),
  /** The tenant's provider override after the change; null: back to the platform's. */
  TenantAiConfigured: z.object({ tenantId: TenantId, override: AiOverride.nullable() }),
  /** A spec generation (its prompt and answer are not kept); counted in usage. */
  SpecGenerated: z.object({
    generationId: z.string(),
    tenantId: TenantId,
    userId: z.string(),
    pods: z.number().int().nonnegative(),
    refused: z.number().int().nonnegative(),
    usage: Usage.nullable(),
    error: ErrorBody.nullable(),
    model: z.string().nullable(),
  }),
  /** A diagnosis made because the reconciler marked the pod failing (PodFailing `alertCauseEventId`, at `sourceSeq`). */
  DiagnosisAttached: z.object({
    tenantId: TenantId,
    podId: PodId,
    alertCauseEventId: z.string(),
    sourceSeq: z.number().int().positive(),
    conversationId: ConversationId,
    text: z.string(),
    error: ErrorBody.nullable(),
    commands: z.array(SuggestedCommand),
    usage: Usage.nullable(),
    model: z.string().nullable(),
  }),
};

/** Core NATS subjects of a stream (not stored). */
export const aiStreamSubjects = {
  chunks: (streamId: string) => `ai.stream.${StreamId.parse(streamId)}`,
  stop: (streamId: string) => `ai.stream.${StreamId.parse(streamId)}.stop`,
};

const tenantParams = z.object({ tenant: TenantId });
const conversationParams = z.object({ tenant: TenantId, conversation: ConversationId });
const NDJSON =
  ' (answers application/x-ndjson: one AiStreamChunk per line — `delta`s, then `done` or `error`; closing the ' +
  'request stops the answer)';

export const aiRoutes = {
  aiAsk: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/ai/ask',
    summary: `Ask the assistant (a new conversation, or conversationId to continue one)${NDJSON}`,
    access: { tenant: 'viewer' },
    params: tenantParams,
    body: AskInput.omit({ tenantId: true, streamId: true }),
  },
  aiDiagnose: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/pods/:pod/diagnose',
    summary: `Diagnose a pod: what is wrong and a suggested fix${NDJSON}`,
    access: { tenant: 'viewer' },
    params: z.object({ tenant: TenantId, pod: PodId }),
  },
  aiGenerate: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/ai/generate',
    summary: 'Pod specs from a description, validated and policy-checked; nothing is created',
    access: { tenant: 'member' },
    params: tenantParams,
    body: z.object({ prompt: z.string().min(1).max(4000) }).strict(),
    response: GenerateResult,
  },
  podDiagnosis: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/pods/:pod/diagnosis',
    summary: 'The diagnosis the assistant made when the pod last turned failing (null when none)',
    access: { tenant: 'viewer' },
    params: z.object({ tenant: TenantId, pod: PodId }),
    response: z.object({ diagnosis: DiagnosisView.nullable() }),
  },
  listConversations: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/ai/conversations',
    summary: "The caller's conversations in the tenant",
    access: { tenant: 'viewer' },
    params: tenantParams,
    response: z.object({ conversations: z.array(ConversationView) }),
  },
  getConversation: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/ai/conversations/:conversation',
    summary: 'One of the caller’s conversations with its messages',
    access: { tenant: 'viewer' },
    params: conversationParams,
    response: ConversationView,
  },
  deleteConversation: {
    method: 'DELETE',
    path: '/api/v1/tenants/:tenant/ai/conversations/:conversation',
    summary: 'Delete one of the caller’s conversations',
    access: { tenant: 'viewer' },
    params: conversationParams,
    status: 204,
  },
  getAiConfig: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/ai/config',
    summary: "The provider the tenant's assistant uses (the key is never shown)",
    access: { tenant: 'admin' },
    params: tenantParams,
    response: AiConfigView,
  },
  setAiConfig: {
    method: 'PATCH',
    path: '/api/v1/tenants/:tenant/ai/config',
    summary: "Override the platform's provider for this tenant (tenant owners); reset=true goes back to it",
    access: { tenant: 'owner' },
    params: tenantParams,
    body: AiCommands.setTenantConfig.omit({ tenantId: true }),
    response: AiConfigView,
  },
  tenantAiUsage: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/ai/usage',
    summary: 'Tokens in and out by user in the tenant (tenant admins and owners)',
    access: { tenant: 'admin' },
    params: tenantParams,
    response: z.object({ rows: z.array(UsageRow) }),
  },
  aiUsage: {
    method: 'GET',
    path: '/api/v1/ai/usage',
    summary: 'Tokens in and out by tenant and user (platform admins)',
    access: 'platformAdmin',
    response: z.object({ rows: z.array(UsageRow) }),
  },
} satisfies Record<string, ApiRoute>;
