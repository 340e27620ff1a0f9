/**
 * fauxqs (SNS/SQS emulator) for adapter tests: loopback, a free port, in memory. The implementation is
 * src/local/sns-server.ts, which `npm start` uses too. Any credentials are accepted.
 */
import { startSnsServer } from '../../src/local/sns-server.ts';

export const FAUXQS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

export async function startFauxqs(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  return startSnsServer({ host: '127.0.0.1', port: 0 });
}
