/**
 * Servers changed in the running HAProxy without a reload (HAProxy 2.6 dynamic servers):
 * `add server` + `enable server` for an endpoint that joins a backend, `disable server` +
 * `del server` for one that leaves. Every change is made from what HAProxy reports it has
 * (`show servers state`), not from what the agent last did, so a change is idempotent: an agent
 * that died halfway, or a server whose deletion had to wait, is put right by the next sync.
 *
 * Order within one apply (router.ts): servers joining are enabled before the map values move
 * users to them, servers leaving are disabled after. A disabled server still finishing
 * requests cannot be deleted yet ("still has connections"): it stays in maintenance, where it
 * takes no new request, and a later sweep deletes it.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Rendered, ServerSpec } from './config.js';
import { serverAddress } from './config.js';
import { HaproxyError } from './errors.js';
import { runtimeAction, runtimeCommand } from './runtime-api.js';

/** `srv_admin_state` bit of a server put in maintenance over the CLI (and of a new dynamic server). */
const FORCED_MAINT = 0x01;

/** Parses `show servers state <backend>`: server name → admin state bits. */
export function parseServersState(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.trim().split(/\s+/);
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state …
    if (f.length >= 7 && f[3] !== undefined) out.set(f[3], Number(f[6]));
  }
  return out;
}

/** The address `add server` is given: an IP as is, a host name resolved now (as HAProxy's `init-addr libc` does at start). */
async function addressOf(s: ServerSpec): Promise<string> {
  if (isIP(s.host) !== 0) return serverAddress(s.host, s.port);
  try {
    const { address } = await lookup(s.host);
    return serverAddress(address, s.port);
  } catch (err) {
    throw new HaproxyError(`cannot resolve ${s.host} for a new server: ${(err as Error).message}`, { cause: err });
  }
}

/** The answer of a server command that succeeded without a message. */
const EMPTY = /^$/;

async function stateOf(socket: string, backend: string): Promise<Map<string, number>> {
  return parseServersState(await runtimeCommand(socket, `show servers state ${backend}`));
}

/**
 * Creates and enables every server `want` has in `backends` that HAProxy lacks or holds in
 * maintenance. Resolves host names first, so a name that does not resolve changes nothing.
 * @throws HaproxyError when HAProxy refuses a command or a host name does not resolve.
 */
export async function enableServers(socket: string, want: Rendered, backends: Iterable<string>): Promise<void> {
  const plan: Array<{ backend: string; spec: ServerSpec; state: number | undefined }> = [];
  for (const backend of backends) {
    const state = await stateOf(socket, backend);
    for (const spec of want.servers.get(backend) ?? []) {
      const admin = state.get(spec.name);
      if (admin === undefined || (admin & FORCED_MAINT) !== 0) plan.push({ backend, spec, state: admin });
    }
  }
  const addresses = await Promise.all(plan.map((p) => (p.state === undefined ? addressOf(p.spec) : Promise.resolve(''))));
  for (const [i, { backend, spec, state }] of plan.entries()) {
    const id = `${backend}/${spec.name}`;
    if (state === undefined) await runtimeAction(socket, `add server ${id} ${addresses[i]}${spec.options}`, /^New server registered/);
    // Also for a server found in maintenance: an agent may have died between its `add` and this.
    if (spec.check) await runtimeAction(socket, `enable health ${id}`, EMPTY);
    await runtimeAction(socket, `enable server ${id}`, EMPTY);
  }
}

/** `del server`: false while the server still has requests in flight. */
async function deleted(socket: string, id: string): Promise<boolean> {
  return /^Server deleted/.test((await runtimeCommand(socket, `del server ${id}`)).trim());
}

/**
 * Disables, then deletes, every server HAProxy has in `backends` that `want` does not.
 * @returns the backends with a server disabled but still finishing requests (not deleted yet: sweep again later).
 * @throws HaproxyError when HAProxy refuses to disable one.
 */
export async function retireServers(socket: string, want: Rendered, backends: Iterable<string>): Promise<string[]> {
  const waiting: string[] = [];
  for (const backend of backends) {
    const keep = new Set((want.servers.get(backend) ?? []).map((s) => s.name));
    for (const [name, admin] of await stateOf(socket, backend)) {
      if (keep.has(name)) continue;
      const id = `${backend}/${name}`;
      if ((admin & FORCED_MAINT) === 0) await runtimeAction(socket, `disable server ${id}`, EMPTY);
      if (await deleted(socket, id)) continue;
      // A connection that went idle after the disable stays pooled and blocks the delete; leaving
      // maintenance through drain (no new request is sent to a draining server) closes idle ones.
      await runtimeAction(socket, `set server ${id} state drain;set server ${id} state maint`, EMPTY);
      if (!(await deleted(socket, id)) && !waiting.includes(backend)) waiting.push(backend);
    }
  }
  return waiting;
}
