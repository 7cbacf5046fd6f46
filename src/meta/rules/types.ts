import type { Envelope, Meta } from '../../envelope.js';
import type { Obj } from '../fields.js';

/** What a rule set sees: the topic already split, the payload narrowed to an object. */
export interface RuleContext {
  readonly topic: string;
  readonly category: string;
  /** Topic tokens after the category, joined with "." ("build.state.change"). */
  readonly sub: string;
  /** Deployment token ("prod", "stg", "dev"); links differ per environment. */
  readonly env: string;
  /** The payload; `{}` when the publisher sent something that is not an object. */
  readonly msg: Obj;
  readonly envelope: Envelope;
  /**
   * Meta of a message embedded in this one (hotness re-publishes its trigger).
   * Bounded depth, so hostile nesting cannot recurse forever; null when too deep or malformed.
   */
  readonly nested: (embedded: unknown) => Meta | null;
}

/** A rule set's raw answer; `undefined` entries are dropped and the rest normalised by the caller. */
export interface Derived {
  readonly usernames?: Iterable<string | undefined>;
  readonly packages?: Iterable<string | undefined>;
  readonly agent?: string | undefined;
  readonly link?: string | undefined;
  readonly subtitle?: string | undefined;
}

export type RuleSet = (ctx: RuleContext) => Derived;
