/**
 * Connected agents per tenant (several per tenant for HA) and the choice of one for a new
 * session: the fewest open sessions, ties taken in turn so that idle agents share the work.
 */
import type { AgentLink } from './links.ts';

export class AgentRegistry {
  private readonly byTenant = new Map<string, AgentLink[]>();
  private readonly turn = new Map<string, number>();

  /**
   * Makes an agent that has said `hello` available for new sessions. Returns an older link with
   * the same agent id, which the caller closes: an agent that reconnects after a network blip
   * replaces its half-dead former self instead of sharing sessions with it.
   */
  add(link: AgentLink): AgentLink | undefined {
    const list = this.byTenant.get(link.tenant.id) ?? [];
    const older = list.find((a) => a.agentId === link.agentId && a !== link);
    const next = list.filter((a) => a !== older && a !== link);
    next.push(link);
    this.byTenant.set(link.tenant.id, next);
    return older;
  }

  remove(link: AgentLink): void {
    const list = this.byTenant.get(link.tenant.id);
    if (!list) return;
    const next = list.filter((a) => a !== link);
    if (next.length > 0) this.byTenant.set(link.tenant.id, next);
    else {
      this.byTenant.delete(link.tenant.id);
      this.turn.delete(link.tenant.id);
    }
  }

  /** An online agent of the tenant with a bundle, or undefined. */
  pick(tenantId: string): AgentLink | undefined {
    const list = this.byTenant.get(tenantId);
    if (!list || list.length === 0) return undefined;
    const start = (this.turn.get(tenantId) ?? 0) % list.length;
    let best: AgentLink | undefined;
    let bestIndex = start;
    for (let i = 0; i < list.length; i++) {
      const index = (start + i) % list.length;
      const a = list[index] as AgentLink;
      if (a.closed || !a.bundle) continue;
      if (!best || a.sessions.size < best.sessions.size) {
        best = a;
        bestIndex = index;
      }
    }
    if (best) this.turn.set(tenantId, bestIndex + 1);
    return best;
  }

  countFor(tenantId: string): number {
    return this.byTenant.get(tenantId)?.length ?? 0;
  }

  get size(): number {
    let n = 0;
    for (const list of this.byTenant.values()) n += list.length;
    return n;
  }
}
