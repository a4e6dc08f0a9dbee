/*
 * The create form's fields as the API's body (the same shape `agentpod pod create` sends), and the zod issues of
 * the contracts' schema mapped back onto the fields that caused them.
 */

export type FormFields = {
  podId: string;
  image: string;
  port: string;
  publicPort: boolean;
  env: string;
  secrets: string;
  memoryMiB: string;
  cpus: string;
  volume: string;
  health: 'none' | 'http' | 'tcp' | 'ws';
  healthPath: string;
  restart: 'always' | 'on-failure' | 'never';
  node: string;
  cmd: string;
};

/** `KEY=value` lines (blank lines skipped); the line numbers of lines without `=`. */
export function parseLines(text: string): { values: Record<string, string>; bad: number[] } {
  const values: Record<string, string> = {};
  const bad: number[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const at = line.indexOf('=');
    if (at <= 0) bad.push(i + 1);
    else values[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return { values, bad };
}

export function bodyFromForm(fields: FormFields): { body: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const env = parseLines(fields.env);
  const secrets = parseLines(fields.secrets);
  if (env.bad.length > 0) errors.env = `line ${env.bad.join(', ')}: write KEY=value`;
  if (secrets.bad.length > 0) errors.secrets = `line ${secrets.bad.join(', ')}: write KEY=value`;
  const port = fields.port.trim();
  if (port !== '' && !/^[0-9]+$/.test(port)) errors.ports = 'must be a port number, e.g. 80';
  const cmd = fields.cmd.trim();
  const health =
    fields.health === 'none'
      ? undefined
      : fields.health === 'tcp'
        ? { type: 'tcp' }
        : { type: fields.health, path: fields.healthPath.trim() || '/' };
  const spec = {
    image: fields.image.trim(),
    ...(cmd ? { cmd: cmd.split(/\s+/) } : {}),
    env: env.values,
    secretNames: Object.keys(secrets.values),
    ports: port === '' ? [] : [{ containerPort: Number(port), public: fields.publicPort }],
    ...(fields.volume.trim() ? { volume: { mountPath: fields.volume.trim() } } : {}),
    limits: { memoryBytes: Number(fields.memoryMiB) * 1024 * 1024, cpus: Number(fields.cpus) },
    ...(health ? { health } : {}),
    restart: fields.restart,
  };
  const body = {
    podId: fields.podId.trim(),
    spec,
    ...(Object.keys(secrets.values).length > 0 ? { secrets: secrets.values } : {}),
    ...(fields.node ? { node: fields.node } : {}),
  };
  return { body, errors };
}

type Issue = { path: readonly PropertyKey[]; message: string };

/** Which form field shows an issue of a `spec` field; anything else is shown for the whole form. */
const SPEC_FIELDS: Record<string, string> = {
  image: 'image',
  env: 'env',
  secretNames: 'secrets',
  ports: 'ports',
  volume: 'volume',
  health: 'health',
};

/** Zod issues as messages per form field (`raw` holds every issue when the JSON was edited by hand). */
export function issuesOf(issues: readonly Issue[], raw: boolean): Record<string, string> {
  const errors: Record<string, string> = {};
  const add = (field: string, message: string) => {
    errors[field] = errors[field] ? `${errors[field]}\n${message}` : message;
  };
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (raw) {
      add('raw', `${path.join('.') || '(body)'}: ${issue.message}`);
      continue;
    }
    const [first, second = ''] = path;
    const field =
      first === 'podId' || first === 'secrets' ? first : first === 'spec' ? (SPEC_FIELDS[second] ?? 'form') : 'form';
    add(field, issue.message);
  }
  return errors;
}
