import { eventually, getJson, type RunningService } from './service-process.js';

/** The first AMQP input as `/readyz` lists it. */
export interface AmqpReady {
  readonly input: string;
  readonly state: string;
  readonly reason: string | null;
  readonly deliveries: number;
  readonly acked: number;
}

export const amqpReady = async (svc: RunningService): Promise<AmqpReady | undefined> =>
  ((await getJson(`${svc.base}/readyz`)).body as { amqp?: AmqpReady[] }).amqp?.[0];

/** Waits until the service's first AMQP input consumes; resolves with the input's name. */
export const consumingInput = (svc: RunningService): Promise<string> =>
  eventually(
    async () => {
      const a = await amqpReady(svc);
      return a?.state === 'consuming' ? a.input : undefined;
    },
    30_000,
    'AMQP input consuming',
  );

/** The deliveries the service logged as skipped ('AMQP delivery skipped'), in order: why, and the detail it gave. */
export const skippedDeliveries = (svc: RunningService): { reason: string; detail: string }[] =>
  svc.logs
    .filter((l) => l.includes('AMQP delivery skipped'))
    .map((l) => JSON.parse(l) as { reason: string; detail: string });
