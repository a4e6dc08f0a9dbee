/*
 * A generated pod as the person edits it before creating it: the body of `POST /tenants/:tenant/pods` (the
 * tenant is the path's, so it is not in the text), as indented JSON. The server validates the edited body with
 * the same schema and security policy as any other; this only reads it back.
 */

export function editableBody(body: { tenantId?: string } & Record<string, unknown>): string {
  const { tenantId: _tenant, ...rest } = body;
  return JSON.stringify(rest, null, 2);
}

export type EditedBody = { ok: true; body: Record<string, unknown>; podId: string } | { ok: false; error: string };

export function readEditedBody(text: string, tenant: string): EditedBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `Not JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, error: 'The body must be a JSON object.' };
  const { tenantId, ...body } = value as Record<string, unknown>;
  if (tenantId !== undefined && tenantId !== tenant)
    return { ok: false, error: `The pod is created in ${tenant}: remove "tenantId" or set it to "${tenant}".` };
  if (typeof body.podId !== 'string' || body.podId === '') return { ok: false, error: 'The body needs a "podId".' };
  return { ok: true, body, podId: body.podId };
}
