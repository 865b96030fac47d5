export const DEFAULT_PAGE_LIMIT = 20;
export const MAX_PAGE_LIMIT = 100;

/** Keyset pagination: `after` is the sort key of the last item already seen. */
export interface PageRequest {
  readonly limit: number;
  readonly after?: number | undefined;
}

export interface Page<T> {
  readonly items: T[];
  /** The key to pass as `after` for the next page; null on the last page. */
  readonly nextAfter: number | null;
}

/** Builds a page from up to `limit + 1` rows: the extra row only tells that another page exists. */
export function pageFrom<T>(rows: T[], limit: number, keyOf: (item: T) => number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextAfter: rows.length > limit && last !== undefined ? keyOf(last) : null };
}
