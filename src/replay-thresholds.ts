// Apart from startup-replay.ts: the settings (read by every CLI command) need these numbers,
// not the replay thread and the journal it loads.

/**
 * Entries whose in-thread replay is timed, in windows of PROBE_WINDOW after the first
 * PROBE_FROM. The cheapest window decides: the first few thousand entries after a large
 * restore cost 2-5x what the rest do (JIT tiers, the GC catching up with the restored heap),
 * so one early window sent cheap replays to the thread, where they took twice as long.
 */
export const PROBE_FROM = 1024;
export const PROBE_WINDOW = 1024;
/** The entry at which the probe decides (the replay thread, if it takes over, starts after it). */
export const PROBE_TO = PROBE_FROM + 7 * PROBE_WINDOW;
/**
 * Fewer entries left than this finish in-thread. The thread saves the main thread ~20 µs per
 * entry, but starting it and warming its code up cost ~0.7 s of wall time on this 2-core box:
 * every built-in plugin, thread against none, alternated (AMD): with 21.8 k entries left it was
 * slower in 5 runs of 5 (3-28%), with 36.8 k once faster and once slower (+2%, -14%), with
 * 51.8 k faster (+8%, +27%), with 92 k faster (+26%).
 */
export const THREADED_REPLAY_MIN = 40_000;
