/**
 * Reading configuration from the environment, once, at cold start. A missing variable fails the
 * cold start with a ConfigError naming it, instead of failing the first request in a confusing way.
 */
import { parseDuration } from './core/duration.ts';
import { ConfigError } from './errors.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value; throws ConfigError (code MISSING_CONFIG) when it is unset or blank. */
export function requireEnv(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name);
  return value;
}

/** A comma-separated list; empty when unset. */
export function listEnv(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A duration setting (`30s`, `5m`, `250ms`); a bad one is a ConfigError naming the variable. */
export function durationSetting(name: string, raw: string): number {
  try {
    return parseDuration(raw.trim());
  } catch (err) {
    throw new ConfigError(name, `${name}: ${(err as Error).message}`, { cause: err });
  }
}
