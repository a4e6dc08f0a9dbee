import type { AiSubject, Encrypted, ErrorBody, SuggestedCommand, Usage } from '@agentpod/contracts';
import type { TenantMembershipTables } from '@agentpod/kit';
import { type ColumnType, type RawBuilder, sql } from 'kysely';
import type { z } from 'zod';

/** A timestamptz column: read as a Date, written as an ISO string (an event's time, so a replay writes the same). */
type Timestamp = ColumnType<Date, string, string>;
/** A jsonb column: read as the parsed value, written through `jsonb()`. */
type Json<T> = ColumnType<T, RawBuilder<unknown>, RawBuilder<unknown>>;

/** A value for a jsonb column: sent as text and cast, so the driver does not encode the JSON a second time. */
export const jsonb = (value: unknown): RawBuilder<unknown> =>
  sql<unknown>`(${JSON.stringify(value ?? null)}::text)::jsonb`;

/*
 * The `ai` schema (kysely types): read models of the AI stream (and TENANTS for the memberships). Titles and
 * contents stay encrypted as they are in the log; the queries decrypt them for their owner.
 */

export type ConversationsTable = {
  conversation_id: string;
  tenant_id: string;
  user_id: string;
  title: Json<Encrypted>;
  subject: Json<AiSubject>;
  created_at: Timestamp;
  updated_at: Timestamp;
};

export type MessagesTable = {
  message_id: string;
  conversation_id: string;
  /** The conversation's version when it was added: the order of messages. */
  position: number;
  role: 'user' | 'assistant';
  content: Json<Encrypted>;
  usage: Json<Usage | null>;
  stopped: boolean;
  error: Json<ErrorBody | null>;
  created_at: Timestamp;
};

/** Tokens per tenant, user and UTC day. `user_id` is '' for what the service did on its own (diagnoses). */
export type UsageTable = {
  tenant_id: string;
  user_id: string;
  day: string;
  requests: number;
  /** bigint: read as text by the driver. */
  prompt_tokens: ColumnType<string, number, number>;
  completion_tokens: ColumnType<string, number, number>;
};

export type DiagnosesTable = {
  tenant_id: string;
  pod_id: string;
  alert_cause_event_id: string;
  conversation_id: string;
  text: string;
  error: Json<ErrorBody | null>;
  commands: Json<z.infer<typeof SuggestedCommand>[]>;
  created_at: Timestamp;
};

export type AiDb = TenantMembershipTables & {
  conversations: ConversationsTable;
  messages: MessagesTable;
  usage: UsageTable;
  diagnoses: DiagnosesTable;
};
