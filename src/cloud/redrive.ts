// `swiftvr redrive <job>`: after the operator fixed a job's source, its dead-lettered messages go
// back to the job queue, each one only if its source now reads and decodes. A message whose
// source is still bad stays in the dead-letter queue (and, FIFO, so do the ones behind it in its
// group), unless the operator chooses to publish that VOD segment as an EXT-X-GAP entry.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { SwiftvrError } from '../errors.js';
import { frameLimitFor } from '../media/frame-limit.js';
import { prepareSegment, readSegment } from '../pipeline/segment-input.js';
import { parseJobMessage, type JobMessage, type SegmentMessage } from './jobs.js';
import type { ObjectStore } from './object-store/object-store.js';
import type { SqsQueue } from './queue/sqs-queue.js';
import { readStoredPlan, storeSource } from './source.js';

export interface RedriveOptions {
  readonly sqs: SQSClient;
  readonly queue: SqsQueue<JobMessage>;
  readonly store: ObjectStore;
  readonly job: string;
  /** Publish a VOD segment whose source is still bad as an EXT-X-GAP entry instead of refusing. */
  readonly gap: boolean;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface RedriveResult {
  /** Messages sent back to the job queue: their source now reads. */
  readonly redriven: readonly string[];
  /** VOD segments sent back to be published as gaps. */
  readonly gaps: readonly number[];
  /** Messages left in the dead-letter queue: their source is still bad. */
  readonly stillBad: readonly { readonly what: string; readonly reason: string }[];
}

/** How a dead-lettered message is named to the operator. */
const nameOf = (m: JobMessage): string =>
  m.type === 'segment' ? `segment sn=${m.segment.sn} (${m.segment.key})` : `${m.type} job message (${m.sourceKey})`;
const jobOf = (m: JobMessage): string => (m.type === 'segment' ? m.stream.job : m.job);

/** Why the message's source still fails, or undefined when it reads (and, for a segment, decodes) now. */
async function sourceProblem(store: ObjectStore, m: JobMessage, signal?: AbortSignal): Promise<string | undefined> {
  try {
    if (m.type !== 'segment') {
      await readStoredPlan(store, m.sourceKey, signal);
      return undefined;
    }
    await decodesWhole(store, m, signal);
    return undefined;
  } catch (e) {
    if (signal?.aborted === true) throw e;
    return e instanceof Error ? e.message : String(e);
  }
}

/** Reads, probes and decodes the segment as a worker would (no model): every frame must come out. */
async function decodesWhole(store: ObjectStore, m: SegmentMessage, signal?: AbortSignal): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-redrive-'));
  const abort = signal ?? new AbortController().signal;
  try {
    const input = await readSegment(storeSource(store, m.stream.container), m.segment, m.prev, abort);
    const prepared = await prepareSegment(input, { workDir: dir, limit: frameLimitFor('cuda'), ...(signal ? { signal } : {}) });
    try {
      for await (const _ of prepared.frames) {
        // decoding is the check
      }
      await prepared.decoded;
    } finally {
      await prepared.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function redrive(o: RedriveOptions): Promise<RedriveResult> {
  const dlqUrl = await o.queue.deadLetterQueueUrl();
  if (dlqUrl === undefined) {
    throw new SwiftvrError('config', `queue ${o.queue.name} has no dead-letter queue (no RedrivePolicy); there is nothing to redrive`);
  }
  const redriven: string[] = [];
  const gaps: number[] = [];
  const stillBad: { what: string; reason: string }[] = [];
  // Messages held in flight while the queue is scanned (others' and the still-bad ones), released at the end.
  const held: Message[] = [];
  const seen = new Set<string>();
  try {
    for (;;) {
      o.signal?.throwIfAborted();
      const r = await o.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 300,
          MessageSystemAttributeNames: ['MessageGroupId'],
        }),
      );
      const fresh = (r.Messages ?? []).filter((msg) => msg.MessageId !== undefined && !seen.has(msg.MessageId));
      if (fresh.length === 0) break;
      for (const msg of fresh) {
        seen.add(msg.MessageId!);
        let m: JobMessage;
        try {
          m = parseJobMessage(JSON.parse(msg.Body ?? 'null'));
        } catch {
          held.push(msg); // not a job message of ours: leave it alone
          continue;
        }
        if (jobOf(m) !== o.job) {
          held.push(msg);
          continue;
        }
        const problem = await sourceProblem(o.store, m, o.signal);
        const group = msg.Attributes?.MessageGroupId ?? o.job;
        if (problem === undefined) {
          await o.queue.send(m, { group, dedupId: `redrive:${msg.MessageId}` });
          await o.sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: msg.ReceiptHandle }));
          redriven.push(nameOf(m));
          o.log(`${nameOf(m)}: the source reads now; sent back to the job queue`);
        } else if (o.gap && m.type === 'segment' && m.stream.mode === 'vod') {
          await o.queue.send({ ...m, gap: true }, { group, dedupId: `redrive-gap:${msg.MessageId}` });
          await o.sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: msg.ReceiptHandle }));
          gaps.push(m.segment.sn);
          o.log(`${nameOf(m)}: still bad (${problem}); sent back to be published as an EXT-X-GAP entry`);
        } else {
          held.push(msg);
          stillBad.push({ what: nameOf(m), reason: problem });
          o.log(`${nameOf(m)}: still bad, left in the dead-letter queue: ${problem}`);
        }
      }
    }
  } finally {
    await Promise.all(
      held.map((msg) =>
        o.sqs
          .send(new ChangeMessageVisibilityCommand({ QueueUrl: dlqUrl, ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: 0 }))
          .catch(() => undefined),
      ),
    );
  }
  return { redriven, gaps, stillBad };
}
