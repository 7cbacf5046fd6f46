/**
 * Turns off msgpackr's native string extraction for this process (and the worker threads it
 * starts, which inherit the environment), unless the operator chose otherwise.
 *
 * With msgpackr-extract, every string of a record comes back as a slice of one string holding
 * all of the record's text, so a field a plugin keeps (a row's `msg_id`, `link` or `topic`)
 * keeps that whole text alive: 50 k replayed messages left 116 MB of heap against 86 MB
 * without it, at the same replay speed (docs/benchmarks.md). msgpackr reads the switch once,
 * when it is first loaded, and lmdb loads it too: the CLI imports this module before anything
 * else.
 */
process.env['MSGPACKR_NATIVE_ACCELERATION_DISABLED'] ??= 'true';

export {};
