import {
  type AcceptInvitationResult,
  AppError,
  CountTenantPods,
  commandSubject,
  INVITATION_TOKEN_PREFIX,
  type InviteMemberResult,
  type MemberView,
  PodResults,
  type Principal,
  querySubject,
  type RequestMeta,
  systemActor,
  TenantCommands,
  TenantPodCount,
  type TenantView,
} from '@agentpod/contracts';
import {
  type AggregateRepository,
  type CommandOutcome,
  executeCommand,
  handler,
  type Mailer,
  request,
  type ServiceRuntime,
} from '@agentpod/kit';
import type { z } from 'zod';
import { requirePrincipal } from '../access.ts';
import type { TenantsDb } from '../db.ts';
import type { TenantsEnv } from '../env.ts';
import { decide, type TenantCommand } from './decide.ts';
import type { TenantEvents, TenantState } from './events.ts';
import { invitationLink, invitationMail } from './invitation-mail.ts';
import { hashToken, newInvitationId, newInvitationToken } from './secrets.ts';
import { acceptedView, invitationView, memberView, tenantView } from './views.ts';

type Runtime = ServiceRuntime<TenantsDb, TenantsEnv>;
type Repository = AggregateRepository<TenantState, TenantEvents>;

/** Meta for a call this service makes on its own behalf, within the caller's correlation. */
const asSystem = (meta: RequestMeta): RequestMeta => ({
  actor: systemActor('tenants'),
  correlationId: meta.correlationId,
  causationId: meta.correlationId,
});

const internal = (what: string) => new AppError('internal', `${what} is missing after the change was stored`);

/** Registers `tenants.cmd.*`. Each handler replies only once the read models show its change. */
export function registerTenantCommands(runtime: Runtime, repository: Repository, mailer: Mailer): void {
  const { store } = runtime;

  const execute = async (
    tenantId: string,
    meta: RequestMeta,
    principal: Principal,
    command: TenantCommand,
  ): Promise<CommandOutcome<TenantState>> => {
    const outcome = await executeCommand({
      store,
      repository,
      aggregateId: tenantId,
      meta: { ...meta, tenantId },
      clock: runtime.clock,
      decide: (state, now) => decide(command, state, { principal, now }),
    });
    const last = outcome.events.at(-1);
    if (last) await runtime.caughtUp('tenants', last.seq);
    return outcome;
  };

  /** Decides on the current state without storing anything: refuses early, before asking another service. */
  const precheck = async (tenantId: string, principal: Principal, command: TenantCommand): Promise<TenantState> => {
    const { state } = await repository.load(tenantId);
    const decision = decide(command, state, { principal, now: runtime.clock() });
    if (decision instanceof AppError) throw decision;
    return state;
  };

  const serve = <I, O>(
    name: keyof typeof TenantCommands,
    input: z.ZodType<I>,
    handle: (input: I, meta: RequestMeta, principal: Principal) => Promise<O>,
  ) =>
    runtime.serve(
      commandSubject('tenants', name),
      handler(input, (data, meta) => handle(data, meta, requirePrincipal(meta))),
    );

  serve('createTenant', TenantCommands.createTenant, async ({ id, name }, meta, principal): Promise<TenantView> => {
    const { state } = await execute(id, meta, principal, { type: 'CreateTenant', tenantId: id, name });
    return tenantView(state, principal);
  });

  serve(
    'renameTenant',
    TenantCommands.renameTenant,
    async ({ tenantId, name }, meta, principal): Promise<TenantView> => {
      const { state } = await execute(tenantId, meta, principal, { type: 'RenameTenant', tenantId, name });
      return tenantView(state, principal);
    },
  );

  serve('deleteTenant', TenantCommands.deleteTenant, async ({ tenantId, force }, meta, principal): Promise<null> => {
    const deleting = { type: 'DeleteTenant', tenantId, force, podCount: 0, podsDeleted: 0 } as const;
    await precheck(tenantId, principal, deleting);
    const countPods = async () =>
      TenantPodCount.parse(
        await request(
          runtime.nc,
          querySubject('pods', 'countTenantPods'),
          CountTenantPods.parse({ tenantId }),
          asSystem(meta),
        ),
      ).count;
    let podCount = await countPods();
    let podsDeleted = 0;
    if (podCount > 0 && force) {
      // The pods service deletes them (containers and volumes go with the reconciler's next pass).
      const result = PodResults.deleteTenantPods.parse(
        await request(runtime.nc, commandSubject('pods', 'deleteTenantPods'), { tenantId }, asSystem(meta), {
          timeoutMs: 30_000,
        }),
      );
      podsDeleted = result.deleted;
      podCount = await countPods();
    }
    await execute(tenantId, meta, principal, { ...deleting, podCount, podsDeleted });
    return null;
  });

  serve(
    'inviteMember',
    TenantCommands.inviteMember,
    async ({ tenantId, email, role }, meta, principal): Promise<InviteMemberResult> => {
      const token = newInvitationToken();
      const command: TenantCommand = {
        type: 'InviteMember',
        tenantId,
        email,
        role,
        invitationId: newInvitationId(),
        tokenHash: hashToken(token),
      };
      await precheck(tenantId, principal, command);
      // The invitee must be able to request a sign-in link: identity registers the address if it is new.
      await request(runtime.nc, commandSubject('identity', 'ensureUser'), { email }, asSystem(meta));
      const { state } = await execute(tenantId, meta, principal, command);
      const view = invitationView(state, command.invitationId, runtime.clock());
      if (!view) throw internal(`invitation ${command.invitationId}`);
      const link = invitationLink(runtime.config.AGENTPOD_PUBLIC_URL, token);
      if (mailer.mode === 'local') return { ...view, localLink: link };
      const mail = invitationMail({ to: email, tenantName: state.name, role, link, expiresAt: view.expiresAt });
      try {
        await mailer.send(mail);
      } catch (error) {
        throw new AppError(
          'unavailable',
          'the invitation is stored but its email could not be sent; invite again to send a new link',
          { cause: error },
        );
      }
      return view;
    },
  );

  serve(
    'acceptInvitation',
    TenantCommands.acceptInvitation,
    async ({ token }, meta, principal): Promise<AcceptInvitationResult> => {
      const notFound = new AppError('not_found', 'this invitation does not exist');
      if (!token.startsWith(INVITATION_TOKEN_PREFIX)) throw notFound;
      const tokenHash = hashToken(token);
      const row = await runtime.db
        .selectFrom('invitations')
        .select('tenant_id')
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (!row) throw notFound;
      const tenantId = row.tenant_id;
      const { state } = await execute(tenantId, meta, principal, { type: 'AcceptInvitation', tenantId, tokenHash });
      const view = acceptedView(state, principal.userId);
      if (!view) throw internal(`membership of ${principal.userId}`);
      return view;
    },
  );

  serve(
    'revokeInvitation',
    TenantCommands.revokeInvitation,
    async ({ tenantId, invitationId }, meta, principal): Promise<null> => {
      await execute(tenantId, meta, principal, { type: 'RevokeInvitation', tenantId, invitationId });
      return null;
    },
  );

  serve(
    'changeMemberRole',
    TenantCommands.changeMemberRole,
    async ({ tenantId, userId, role }, meta, principal): Promise<MemberView> => {
      const { state } = await execute(tenantId, meta, principal, { type: 'ChangeMemberRole', tenantId, userId, role });
      const view = memberView(state, userId);
      if (!view) throw internal(`member ${userId}`);
      return view;
    },
  );

  serve('removeMember', TenantCommands.removeMember, async ({ tenantId, userId }, meta, principal): Promise<null> => {
    await execute(tenantId, meta, principal, { type: 'RemoveMember', tenantId, userId });
    return null;
  });
}
