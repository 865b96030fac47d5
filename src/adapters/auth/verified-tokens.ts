import type { VerifiedAccessToken } from '../../application/ports/access-tokens.js';

/** Ours are about 300 characters, a provider's a few times that; a header may carry up to 16 KB. */
export const MAX_REMEMBERED_LENGTH = 4_096;

/**
 * Tokens whose signature and claims passed, remembered by the token's exact text, so a client's repeated
 * requests skip the signature check. What a token says cannot change, so only time can end an entry: the
 * token's expiry, and a maximum age, which bounds how long a token signed by a key withdrawn since (an
 * identity provider's) is still taken. Revocation is not decided here: the caller checks the user's token
 * state on every request, remembered or not. Failures are not remembered, so garbage evicts nothing.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { readonly verified: VerifiedAccessToken; readonly untilMs: number }>();

  constructor(
    /** Tokens remembered at once; the oldest are dropped first. */
    private readonly capacity = 10_000,
    private readonly maxAgeMs = 60_000,
  ) {}

  /** The remembered verdict on `token`, if it is still good at `nowMs`. */
  get(token: string, nowMs: number): VerifiedAccessToken | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (nowMs < entry.untilMs) return entry.verified;
    this.entries.delete(token);
    return undefined;
  }

  /**
   * Remembers a token verified at `nowMs` that its checks accept until `expiresAtMs`. One longer than
   * MAX_REMEMBERED_LENGTH is not remembered, so the memory stays bounded in bytes as well as in tokens.
   */
  remember(token: string, verified: VerifiedAccessToken, nowMs: number, expiresAtMs: number): void {
    if (this.capacity <= 0 || token.length > MAX_REMEMBERED_LENGTH) return;
    this.entries.delete(token);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { verified, untilMs: Math.min(expiresAtMs, nowMs + this.maxAgeMs) });
  }
}
