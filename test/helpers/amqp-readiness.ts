import { eventually, getJson, type RunningService } from './service-process.js';

/** The first AMQP input as `/readyz` lists it. */
export interface AmqpReady {
  readonly input: string;
  readonly state: string;
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
