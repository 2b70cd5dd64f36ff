// API keys (DESIGN §6): TESSERA_API_KEYS = `name:key:scope1+scope2,...`, scopes `read`
// (queries) and `admin` (mutations). Keys are compared in constant time (by their SHA-256,
// so lengths leak nothing either); a bad key list stops the server at start-up.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';

export const SCOPES = ['read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  name: string;
  scopes: ReadonlySet<Scope>;
}

export class ApiKeyConfigError extends Error {
  override name = 'ApiKeyConfigError';
}

export interface KeyRing {
  /** the principal of a key, or undefined */
  lookup(key: string): Principal | undefined;
  readonly names: readonly string[];
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const KEY = /^[\x21-\x2b\x2d-\x39\x3b-\x7e]{8,256}$/; // printable ASCII without ',' and ':', 8+ chars

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Parses the key list; throws ApiKeyConfigError naming the bad entry (never echoing a key). */
export function parseApiKeys(spec: string): KeyRing {
  const entries: { hash: Buffer; principal: Principal }[] = [];
  const seen = new Set<string>();
  spec.split(',').map((s) => s.trim()).filter(Boolean).forEach((entry, i) => {
    const parts = entry.split(':');
    const where = `TESSERA_API_KEYS entry ${i + 1}`;
    if (parts.length !== 3) throw new ApiKeyConfigError(`${where}: expected name:key:scope1+scope2`);
    const [name, key, scopeList] = parts as [string, string, string];
    if (!NAME.test(name)) throw new ApiKeyConfigError(`${where}: name must match ${NAME}`);
    if (!KEY.test(key)) throw new ApiKeyConfigError(`${where} (${name}): key must be 8-256 printable ASCII characters without ':' or ','`);
    const scopes = scopeList.split('+').filter(Boolean);
    const bad = scopes.find((s) => !(SCOPES as readonly string[]).includes(s));
    if (bad !== undefined || scopes.length === 0) throw new ApiKeyConfigError(`${where} (${name}): scopes must be ${SCOPES.join(' and/or ')} joined by '+', got ${JSON.stringify(scopeList)}`);
    if (seen.has(key)) throw new ApiKeyConfigError(`${where} (${name}): the same key is listed twice`);
    seen.add(key);
    entries.push({ hash: digest(key), principal: { name, scopes: new Set(scopes as Scope[]) } });
  });
  if (entries.length === 0) throw new ApiKeyConfigError('TESSERA_API_KEYS lists no key: every request would be refused');
  return {
    names: entries.map((e) => e.principal.name),
    lookup(key) {
      const h = digest(key);
      let found: Principal | undefined;
      for (const e of entries) if (timingSafeEqual(e.hash, h)) found = e.principal; // no early exit
      return found;
    },
  };
}

/** The keys of the default TESSERA_API_KEYS (config.ts): refused in production mode. */
export const DEVELOPMENT_KEYS: readonly string[] = ['dev-read-key', 'dev-admin-key'];

/** Production must not run with the published development keys. */
export function checkProductionKeys(keys: KeyRing): void {
  const published = DEVELOPMENT_KEYS.filter((k) => keys.lookup(k) !== undefined);
  if (published.length > 0) {
    throw new ApiKeyConfigError(`TESSERA_API_KEYS contains the published development key(s) ${published.join(', ')}: set your own keys in production mode`);
  }
}

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="tessera"' };

/** The principal of an Authorization header value; throws UNAUTHENTICATED (401). */
export function authenticate(keys: KeyRing, header: string | null): Principal {
  if (header === null || header.trim() === '') {
    throw new ApiError('UNAUTHENTICATED', 'missing API key: send the header "Authorization: Bearer <key>"', { headers: CHALLENGE });
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
  if (match === null) {
    throw new ApiError('UNAUTHENTICATED', 'malformed Authorization header: expected "Bearer <key>"',
      { headers: { 'WWW-Authenticate': 'Bearer realm="tessera", error="invalid_request"' } });
  }
  const principal = keys.lookup(match[1] as string);
  if (principal === undefined) {
    throw new ApiError('UNAUTHENTICATED', 'unknown API key', { headers: { 'WWW-Authenticate': 'Bearer realm="tessera", error="invalid_token"' } });
  }
  return principal;
}

/** Throws FORBIDDEN (403) unless the principal holds the scope. */
export function requireScope(principal: Principal, scope: Scope, what: string): void {
  if (!principal.scopes.has(scope)) {
    throw new ApiError('FORBIDDEN', `API key "${principal.name}" lacks the "${scope}" scope required for ${what} (it has: ${[...principal.scopes].join(', ')})`,
      { headers: { 'WWW-Authenticate': `Bearer realm="tessera", error="insufficient_scope", scope="${scope}"` } });
  }
}
