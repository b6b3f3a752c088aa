/**
 * The tenant registry: which tenants exist, the SHA-256 of each tenant's agent secret, and which
 * client origins each accepts. The relay never holds a tenant secret itself.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TenantConfig } from './config.ts';

export interface Tenant {
  readonly id: string;
  /** SHA-256 of the agent's secret (32 bytes). */
  readonly secretHash: Buffer;
  readonly allowedOrigins: ReadonlySet<string>;
  readonly allowFirefox: boolean;
  readonly allowNoOrigin: boolean;
}

/** The `secretHash` to put in the relay config for a tenant secret (UTF-8 bytes of the token). */
export function hashTenantSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('base64url')}`;
}

// Firefox gives each install a random UUID host, so the origin says nothing about the extension.
const FIREFOX_ORIGIN = /^moz-extension:\/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Upper bound on an Authorization header we bother hashing. */
const MAX_BEARER = 1024;

export class TenantRegistry {
  private readonly tenants = new Map<string, Tenant>();
  // Compared against when the tenant is unknown, so an unknown tenant costs the same as a wrong secret.
  private readonly decoy = randomBytes(32);

  constructor(configs: readonly TenantConfig[]) {
    for (const c of configs) {
      this.tenants.set(c.id, {
        id: c.id,
        secretHash: Buffer.from(c.secretHash.slice('sha256:'.length), 'base64url'),
        allowedOrigins: new Set(c.allowedOrigins),
        allowFirefox: c.allowFirefox,
        allowNoOrigin: c.allowNoOrigin,
      });
    }
  }

  get(id: string): Tenant | undefined {
    return this.tenants.get(id);
  }

  get size(): number {
    return this.tenants.size;
  }

  ids(): string[] {
    return [...this.tenants.keys()];
  }

  /**
   * The tenant whose secret matches an `Authorization: Bearer <secret>` header, or undefined.
   * The comparison is of SHA-256 digests in constant time, so neither the secret's content nor
   * its length leaks through timing.
   */
  authenticate(id: string, authorization: string | undefined): Tenant | undefined {
    const tenant = this.tenants.get(id);
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(authorization ?? '');
    const secret = match?.[1] !== undefined && match[1].length <= MAX_BEARER ? match[1] : '';
    const presented = createHash('sha256').update(secret, 'utf8').digest();
    const ok = timingSafeEqual(presented, tenant?.secretHash ?? this.decoy);
    return ok && tenant !== undefined && secret !== '' ? tenant : undefined;
  }
}

/** Whether a client with this Origin header (undefined: none) may open sessions of the tenant. */
export function originAllowed(tenant: Tenant, origin: string | undefined): boolean {
  if (origin === undefined) return tenant.allowNoOrigin;
  if (tenant.allowedOrigins.has(origin)) return true;
  return tenant.allowFirefox && FIREFOX_ORIGIN.test(origin);
}
