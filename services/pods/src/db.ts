/** The `pods` schema (kysely types): read models rebuilt from the log. */
export type PodsDb = {
  pods: { id: string; tenant_id: string };
};
