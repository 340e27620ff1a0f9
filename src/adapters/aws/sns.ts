/**
 * EventBus over SNS (fauxqs locally, through `AWS_ENDPOINT_URL_SNS`). One Publish per event: the body
 * is the event JSON, and the `type` message attribute lets subscribers filter without parsing it, e.g.
 * a subscription filter policy `{"type": ["key.revoked"]}`.
 *
 * Standard topics deliver at least once and do not de-duplicate; the event `id` (stable per stream
 * record) is what subscribers de-duplicate on.
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { BusEvent } from '../../core/events.ts';
import { JwksError } from '../../errors.ts';
import type { EventBus } from '../../events/ports.ts';

/** The message attribute subscribers filter on. */
export const EVENT_TYPE_ATTRIBUTE = 'type';

export class SnsEventBus implements EventBus {
  readonly #client: SNSClient;
  readonly #topicArn: string;

  constructor(opts: { client: SNSClient; topicArn: string }) {
    this.#client = opts.client;
    this.#topicArn = opts.topicArn;
  }

  async publish(event: BusEvent): Promise<void> {
    const out = await this.#client.send(
      new PublishCommand({
        TopicArn: this.#topicArn,
        Message: JSON.stringify(event),
        MessageAttributes: { [EVENT_TYPE_ATTRIBUTE]: { DataType: 'String', StringValue: event.type } },
      }),
    );
    if (!out.MessageId) throw new JwksError('UPSTREAM', `SNS accepted event ${event.id} without a MessageId`);
  }
}
