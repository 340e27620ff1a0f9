/**
 * Runs a task every `intervalMs`, like an EventBridge schedule: never two runs at once (the next
 * tick waits for the previous run), failures logged and retried on the next tick, `stop()` waits
 * for the run in flight.
 */
import type { Log } from '../ports.ts';

export class Ticker {
  readonly #intervalMs: number;
  readonly #task: () => Promise<unknown>;
  readonly #log: Log;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(intervalMs: number, task: () => Promise<unknown>, log: Log) {
    this.#intervalMs = intervalMs;
    this.#task = task;
    this.#log = log;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Run now (outside the schedule), e.g. to wait for a state without waiting for the next tick. */
  runNow(): Promise<void> {
    this.#running ??= this.#task()
      .then(
        () => undefined,
        (err: unknown) => this.#log.error('scheduled task failed', { error: err }),
      )
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      await this.runNow();
      this.#schedule(this.#intervalMs);
    }, delay);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
