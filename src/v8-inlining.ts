/**
 * Lowers V8's inlining budget for this process (and the worker threads it starts: V8's flags
 * are the process's), unless the operator set it on node's command line.
 *
 * TurboFan compiles on V8's helper threads, and an optimized function's compile cost grows
 * with everything inlined into it. Under ingest those helpers were the largest share of "the
 * rest" of the CPU per message (bench/load/lib.ts, rest_by_thread_kind), ~72% of it TurboFan
 * in the first 30 k messages and still ~37% past 60 k (late first compiles, recompiles after
 * deopts). A quarter of the default cumulative budget (920 bytes of bytecode per optimized
 * function) cut the service's instructions over its first 30 k messages (callgrind, every
 * built-in plugin, compiling counted) without making the steady-state code dearer
 * (docs/benchmarks.md, "What is left", the rest). The CLI imports this module first, before
 * anything is compiled hot.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = '--max-inlined-bytecode-size-cumulative';
export const INLINED_BYTECODE_CUMULATIVE = 230;

// V8 takes `_` for `-` in a flag's name; NODE_OPTIONS refuses V8's flags, so only the command line counts.
const chosen = process.execArgv.some((a) => a.replaceAll('_', '-').startsWith(FLAG));
if (!chosen) setFlagsFromString(`${FLAG}=${INLINED_BYTECODE_CUMULATIVE}`);
