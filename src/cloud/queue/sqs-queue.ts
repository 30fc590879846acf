// SQS FIFO job queue. Sending is a plain SendMessage with MessageGroupId and a deduplication
// id; receiving is sqs-consumer (long polling, visibility heartbeat, handler timeout), one
// consumer per concurrency slot so each slot holds at most one message (and one group).

import { createHash } from 'node:crypto';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { SwiftvrError } from '../../errors.js';
import {
  checkConsumeOptions,
  type ConsumeOptions,
  type JobQueue,
  type MessageHandler,
  type ReceivedMessage,
  type RunningConsumer,
  type SendOptions,
} from './job-queue.js';

export function makeSqsClient(opts: { region: string; endpoint?: string }): SQSClient {
  const config: SQSClientConfig = { region: opts.region };
  if (opts.endpoint !== undefined) config.endpoint = opts.endpoint;
  return new SQSClient(config);
}

/** SQS allows 128 characters of [A-Za-z0-9] and punctuation; a hash keeps any id inside that. */
export const sqsDedupId = (id: string): string => createHash('sha256').update(id).digest('hex');
/** Group ids share the dedup-id alphabet; keep readable ids readable, hash the rest. */
export const sqsGroupId = (group: string): string =>
  /^[\w!"#$%&'()*+,\-./:;<=>?@[\\\]^`{|}~]{1,128}$/.test(group) ? group : sqsDedupId(group);

export class SqsQueue<T> implements JobQueue<T> {
  readonly name: string;
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private redrive: Promise<{ maxReceives?: number; dlqUrl?: string }> | undefined;

  constructor(opts: { client: SQSClient; queueUrl: string }) {
    if (!opts.queueUrl.endsWith('.fifo')) {
      throw new SwiftvrError(
        'usage',
        `queue URL ${opts.queueUrl} must name a FIFO queue (ending in .fifo): per-stream order needs MessageGroupId`,
      );
    }
    this.client = opts.client;
    this.queueUrl = opts.queueUrl;
    this.name = opts.queueUrl;
  }

  async send(body: T, options: SendOptions): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(body),
        MessageGroupId: sqsGroupId(options.group),
        MessageDeduplicationId: sqsDedupId(options.dedupId),
      }),
    );
  }

  async maxReceives(): Promise<number | undefined> {
    return (await this.redrivePolicy()).maxReceives;
  }

  /** The queue's redrive policy: receive limit and dead-letter queue URL (read once). */
  private redrivePolicy(): Promise<{ maxReceives?: number; dlqUrl?: string }> {
    this.redrive ??= (async () => {
      const r = await this.client.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['RedrivePolicy'] }));
      const policy = r.Attributes?.RedrivePolicy;
      if (policy === undefined) return {};
      const p = JSON.parse(policy) as { maxReceiveCount?: unknown; deadLetterTargetArn?: unknown };
      const n = Number(p.maxReceiveCount);
      // arn:aws:sqs:<region>:<account>:<name>
      const arn = typeof p.deadLetterTargetArn === 'string' ? p.deadLetterTargetArn.split(':') : [];
      const dlqUrl =
        arn.length === 6
          ? (await this.client.send(new GetQueueUrlCommand({ QueueName: arn[5], QueueOwnerAWSAccountId: arn[4] }))).QueueUrl
          : undefined;
      return { ...(Number.isFinite(n) ? { maxReceives: n } : {}), ...(dlqUrl === undefined ? {} : { dlqUrl }) };
    })().catch((e: unknown) => {
      this.redrive = undefined; // read again next time
      throw e;
    });
    return this.redrive;
  }

  /** URL of the queue's dead-letter queue (from its RedrivePolicy), if it has one. */
  async deadLetterQueueUrl(): Promise<string | undefined> {
    return (await this.redrivePolicy()).dlqUrl;
  }

  async deadLetter(message: ReceivedMessage<T>, reason: string): Promise<boolean> {
    const { dlqUrl } = await this.redrivePolicy();
    if (dlqUrl === undefined) return false;
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: JSON.stringify(message.body),
        MessageGroupId: sqsGroupId(message.group),
        // One dead letter per received message, however often this is retried.
        MessageDeduplicationId: sqsDedupId(`dead-letter:${message.id}`),
        MessageAttributes: {
          'swiftvr-reason': { DataType: 'String', StringValue: reason.slice(0, 1000) || 'unknown' },
          'swiftvr-receive-count': { DataType: 'Number', StringValue: String(message.receiveCount) },
        },
      }),
    );
    return true;
  }

  consume(handler: MessageHandler<T>, options: ConsumeOptions): RunningConsumer {
    const o = checkConsumeOptions(options);
    const consumers: Consumer[] = [];
    const onHandle = async (m: Message): Promise<Message> => {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(new Error(`handler timed out after ${o.handlerTimeoutMs} ms`)), o.handlerTimeoutMs);
      const received: ReceivedMessage<T> = {
        id: m.MessageId ?? '',
        body: JSON.parse(m.Body ?? 'null') as T,
        group: m.Attributes?.MessageGroupId ?? '',
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
        sentAt: new Date(Number(m.Attributes?.SentTimestamp ?? Date.now())),
        signal: abort.signal,
      };
      try {
        await handler(received);
        return m;
      } catch (e) {
        o.onHandlerError?.(e, received);
        throw e;
      } finally {
        clearTimeout(timer);
      }
    };
    for (let i = 0; i < o.concurrency; i++) {
      const c = Consumer.create({
        queueUrl: this.queueUrl,
        sqs: this.client,
        batchSize: 1,
        waitTimeSeconds: o.waitTimeSeconds,
        visibilityTimeout: o.visibilityTimeoutSeconds,
        heartbeatInterval: o.heartbeatSeconds,
        handleMessageTimeout: o.handlerTimeoutMs,
        // A failed message is visible again at once, so a poison one reaches the DLQ quickly.
        terminateVisibilityTimeout: true,
        // stop() waits for the poll in progress, which includes its handler (drain).
        pollingCompleteWaitTimeMs: o.handlerTimeoutMs + o.waitTimeSeconds * 1000 + 5000,
        messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp', 'MessageGroupId'],
        strictReturn: true,
        suppressFifoWarning: true,
        handleMessage: onHandle,
      });
      c.on('error', (e) => o.onQueueError?.(e));
      c.on('processing_error', () => undefined);
      c.on('timeout_error', () => undefined);
      c.start();
      consumers.push(c);
    }
    return {
      stop: async () => {
        await Promise.all(
          consumers.map(
            (c) =>
              new Promise<void>((resolve) => {
                if (!c.status.isRunning && !c.status.isPolling) return resolve();
                c.once('stopped', () => resolve());
                c.stop();
              }),
          ),
        );
      },
    };
  }
}
