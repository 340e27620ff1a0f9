/**
 * The local stack's log: JSON lines on stderr, so stdout carries only what users script against
 * (the single `ready <url>` line). `LOG_LEVEL` = error | warn | info (default) | silent.
 */
import type { Log } from '../ports.ts';

const LEVELS = { silent: 0, error: 1, warn: 2, info: 3 } as const;
type Level = keyof typeof LEVELS;

/** Errors become `{ name, code, message }`: never a stack trace, never a cause chain with payloads. */
function plain(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, ...(code !== undefined && { code }), message: value.message };
  }
  return value;
}

export function createStderrLog(level: string | undefined, out: NodeJS.WritableStream = process.stderr): Log {
  const threshold = LEVELS[(level ?? 'info') as Level] ?? LEVELS.info;
  const write = (lvl: Exclude<Level, 'silent'>, message: string, extra: Record<string, unknown>[]) => {
    if (LEVELS[lvl] > threshold) return;
    const fields: Record<string, unknown> = {};
    for (const e of extra) for (const [k, v] of Object.entries(e)) fields[k] = plain(v);
    out.write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, message, ...fields })}\n`);
  };
  return {
    info: (m, ...e) => write('info', m, e),
    warn: (m, ...e) => write('warn', m, e),
    error: (m, ...e) => write('error', m, e),
  };
}
