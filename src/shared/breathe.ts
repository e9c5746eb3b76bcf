/**
 * One turn of the event loop, so that other work (requests, answers already received) gets in
 * between the pieces of a long synchronous job (SQLite and file reads answer synchronously).
 */
export const breathe = () => new Promise<void>((resolve) => setImmediate(resolve))
