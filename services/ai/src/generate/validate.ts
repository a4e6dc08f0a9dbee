import { CreatePod, describeIssues, findEscalations, type GenerateResult } from '@agentpod/contracts';

/*
 * A model's answer to "generate pod specs", checked like a hand-written request: each pod goes through the
 * security policy (`findEscalations`: privileged mode, host namespaces and networking, devices, capabilities, host
 * binds, the Docker socket) and then the strict CreatePod schema. What passes is offered for confirmation, what
 * does not is listed with the reason; nothing is created here. Pure.
 */

export const MAX_GENERATED_PODS = 10;

/** The system prompt of a generation: the shape to answer and the policy (so a good model needs no refusals). */
export const GENERATE_PROMPT = [
  'You turn a description of an application into AgentPod pod specs. A pod is one container.',
  'Answer with one JSON object and nothing else, of this shape:',
  '{"pods":[{"podId":"lowercase-slug","spec":{…},"notes":"what the user must fill in or know"}]}',
  'spec fields: image (string, with a tag), cmd (array of strings, optional), env (object of string values),',
  'secretNames (names of env vars whose values are secrets the user fills in; not also in env),',
  'ports ([{"containerPort":n,"protocol":"tcp","public":false}]), volume ({"mountPath":"/data"}, one named volume),',
  'limits ({"memoryBytes":n,"cpus":0.5,"pids":256}), health ({"type":"http","path":"/","port":n} or tcp),',
  'restart ("always" | "on-failure" | "never"). Pods reach each other by podId as host name.',
  'Never ask for privileged mode, host networking or other host namespaces, devices, added capabilities, host paths,',
  'bind mounts or the Docker socket: they are refused. Put no real secret values anywhere.',
].join('\n');

type Refusal = GenerateResult['refused'][number];
type Pod = GenerateResult['pods'][number];

/** The JSON object of an answer: the whole text, else a ```json block, else the first balanced {…}. */
export function extractJson(text: string): unknown {
  const attempts = [text.trim()];
  const fenced = /```(?:json)?\s*\n([\s\S]*?)\n\s*```/i.exec(text)?.[1];
  if (fenced) attempts.push(fenced);
  const start = text.indexOf('{');
  if (start >= 0) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        attempts.push(text.slice(start, i + 1));
        break;
      }
    }
  }
  for (const candidate of attempts) {
    try {
      return JSON.parse(candidate);
    } catch {
      // the next way of finding it
    }
  }
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Validates every pod of a parsed answer for `tenantId`. */
export function validateGenerated(tenantId: string, answer: unknown): { pods: Pod[]; refused: Refusal[] } {
  const pods: Pod[] = [];
  const refused: Refusal[] = [];
  const list = isObject(answer) && Array.isArray(answer.pods) ? answer.pods : undefined;
  if (!list) {
    refused.push({ podId: '(answer)', reason: 'the model did not answer with {"pods":[…]}' });
    return { pods, refused };
  }
  const seen = new Set<string>();
  for (const [index, entry] of list.entries()) {
    const podId = isObject(entry) && typeof entry.podId === 'string' ? entry.podId.slice(0, 100) : `(pod ${index + 1})`;
    if (index >= MAX_GENERATED_PODS) {
      refused.push({ podId, reason: `at most ${MAX_GENERATED_PODS} pods are generated at once` });
      continue;
    }
    if (!isObject(entry)) {
      refused.push({ podId, reason: 'not an object' });
      continue;
    }
    const { notes, ...request } = entry;
    const escalations = findEscalations(request);
    if (escalations.length > 0) {
      refused.push({ podId, reason: `refused: ${escalations.join('; ')}` });
      continue;
    }
    const parsed = CreatePod.safeParse({
      tenantId,
      podId: entry.podId,
      spec: entry.spec,
      secrets: entry.secrets ?? {},
    });
    if (!parsed.success) {
      const issues = describeIssues(parsed.error.issues).map((issue) => `${issue.path}: ${issue.message}`);
      refused.push({ podId, reason: `invalid: ${issues.slice(0, 5).join('; ')}` });
      continue;
    }
    if (seen.has(parsed.data.podId)) {
      refused.push({ podId, reason: 'a second pod with this id' });
      continue;
    }
    seen.add(parsed.data.podId);
    pods.push({ body: parsed.data, notes: typeof notes === 'string' ? notes.slice(0, 4000) : '' });
  }
  return { pods, refused };
}
