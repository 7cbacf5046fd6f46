import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** One rendered answer: its bytes, its validator, and the gzip bytes once someone asked for them. */
export interface Encoded<M = unknown> {
  readonly body: Buffer;
  /** Strong validator of the identity bytes, quoted: `"<hash>"`. */
  readonly etag: string;
  gzip: Buffer | undefined;
  /** What the caller needs besides the bytes (e.g. page numbers for paging headers). */
  readonly meta: M;
}

export interface CacheStats {
  hits: number;
  misses: number;
  gzipped: number;
}

/** Bodies shorter than this are sent as they are: gzip would not pay for its own header. */
export const GZIP_MIN_BYTES = 256;

export function encode<M>(body: string | Buffer, meta: M): Encoded<M> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const hash = createHash('sha1').update(bytes).digest('base64url').slice(0, 22);
  return { body: bytes, etag: `"${hash}"`, gzip: undefined, meta };
}

/** Bytes of bodies (identity and gzip) the cache holds at most by default; one body of over an eighth of it is not kept. */
export const CACHE_MAX_BYTES = 32 * 1024 * 1024;
/** Answers the cache holds at most by default. */
export const CACHE_MAX_ENTRIES = 4096;

/**
 * LRU of encoded answers, bounded by bytes. Keys are built by the routes from everything the
 * bytes depend on (plugin ident and state version, normalised query, format), so a hot read
 * is served without re-rendering or re-compressing, and an update simply stops matching.
 */
export class EncodedCache {
  private readonly entries = new Map<string, Encoded>();
  private readonly keys = new WeakMap<Encoded, string>();
  private bytes = 0;
  readonly stats: CacheStats = { hits: 0, misses: 0, gzipped: 0 };

  constructor(
    private readonly maxBytes = CACHE_MAX_BYTES,
    private readonly maxEntries = CACHE_MAX_ENTRIES,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  /** The cached answer for `key`, or the one `make` renders (stored unless too big to keep). */
  getOrMake<M>(key: string, make: () => Encoded<M>): Encoded<M> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Re-insert: Map order is the recency order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      this.stats.hits++;
      return hit as Encoded<M>;
    }
    this.stats.misses++;
    const made = make();
    if (made.body.length <= this.maxBytes / 8) {
      this.entries.set(key, made);
      this.keys.set(made, key);
      this.bytes += made.body.length;
      this.evict();
    }
    return made;
  }

  /** The gzip bytes of an answer, compressed at most once per cached answer. */
  gzipOf(entry: Encoded): Buffer {
    if (entry.gzip === undefined) {
      entry.gzip = gzipSync(entry.body);
      this.stats.gzipped++;
      // Only entries still held count against the budget.
      const key = this.keys.get(entry);
      if (key !== undefined && this.entries.get(key) === entry) {
        this.bytes += entry.gzip.length;
        this.evict();
      }
    }
    return entry.gzip;
  }

  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
      this.bytes -= e.body.length + (e.gzip?.length ?? 0);
    }
  }
}
