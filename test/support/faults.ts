/**
 * Fault injection shared by the in-memory fakes: every adapter call goes through `Faults.run`, which
 * records it and can "crash" the caller either before the call takes effect or after it did (the
 * effect stays, the caller never learns of it), which is how a Lambda dies between two SDK calls.
 */

export type CrashWhen = 'before' | 'after';

/** Thrown by a fake to simulate the process dying around a call. Never a JwksError: nothing handles it. */
export class SimulatedCrash extends Error {
  readonly op: string;
  readonly when: CrashWhen;
  constructor(op: string, when: CrashWhen) {
    super(`simulated crash ${when} ${op}`);
    this.name = 'SimulatedCrash';
    this.op = op;
    this.when = when;
  }
}

interface Rule {
  readonly op: string | undefined;
  /** Absolute call index this rule fires at (crashAtCall), or undefined (next matching call). */
  readonly atIndex: number | undefined;
  readonly when: CrashWhen;
  remaining: number;
}

export class Faults {
  /** Every call made through the fakes sharing this instance, in order (`vault.createKey`, ...). */
  readonly calls: string[] = [];
  #rules: Rule[] = [];

  /** Crash the next `times` calls of `op` (e.g. `vault.createKey`). */
  crash(op: string, when: CrashWhen = 'before', times = 1): this {
    this.#rules.push({ op, atIndex: undefined, when, remaining: times });
    return this;
  }

  /** Crash the `n`-th call from now (0 = the next call), whatever it is. */
  crashAtCall(n: number, when: CrashWhen = 'before'): this {
    this.#rules.push({ op: undefined, atIndex: this.calls.length + n, when, remaining: 1 });
    return this;
  }

  clear(): void {
    this.#rules = [];
  }

  async run<T>(op: string, fn: () => T | Promise<T>): Promise<T> {
    const index = this.calls.length;
    this.calls.push(op);
    const rule = this.#rules.find(
      (r) => r.remaining > 0 && (r.atIndex === undefined ? r.op === op : r.atIndex === index),
    );
    if (rule) rule.remaining -= 1;
    if (rule?.when === 'before') throw new SimulatedCrash(op, 'before');
    const result = await fn();
    if (rule?.when === 'after') throw new SimulatedCrash(op, 'after');
    return result;
  }
}
