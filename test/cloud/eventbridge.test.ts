// Job events on EventBridge (moto's server on loopback, the real AWS SDK client): a rule on the bus
// matching source swiftvr.jobs and COMPLETE/ERROR delivers into an SQS queue, as docs/events.md
// subscribes; an event repeated through the store-backed sink is delivered once.
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeSink, makeEventBridgeClient, StoreEventSink } from '../../src/cloud/events.js';
import type { S3ObjectStore } from '../../src/cloud/object-store/s3-object-store.js';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE, jobEvent, jobEventSchema } from '../../src/events/job-events.js';
import { startMotoWithBucket, type Moto } from './moto-server.js';

let moto: Moto;
let store: S3ObjectStore;
let sqs: SQSClient;

beforeAll(async () => {
  ({ moto, store, sqs } = await startMotoWithBucket('media'));
});
afterAll(async () => {
  await moto?.stop();
});

/** A bus with the docs' rule (COMPLETE and ERROR of swiftvr.jobs) into a new SQS queue. */
async function subscribed(bus: string): Promise<string> {
  const eb = makeEventBridgeClient({ region: 'us-east-1', endpoint: moto.endpoint });
  if (bus !== 'default') await eb.send(new CreateEventBusCommand({ Name: bus }));
  const q = await sqs.send(new CreateQueueCommand({ QueueName: `events-${bus}` }));
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl!, AttributeNames: ['QueueArn'] }))).Attributes!
    .QueueArn!;
  await eb.send(
    new PutRuleCommand({
      Name: `swiftvr-done-${bus}`,
      EventBusName: bus,
      EventPattern: JSON.stringify({ source: [EVENT_SOURCE], 'detail-type': [EVENT_DETAIL_TYPE], detail: { type: ['COMPLETE', 'ERROR'] } }),
    }),
  );
  await eb.send(new PutTargetsCommand({ Rule: `swiftvr-done-${bus}`, EventBusName: bus, Targets: [{ Id: '1', Arn: arn }] }));
  return q.QueueUrl!;
}

async function received(queueUrl: string): Promise<{ source: string; 'detail-type': string; detail: unknown }[]> {
  const out: { source: string; 'detail-type': string; detail: unknown }[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    for (const m of r.Messages ?? []) out.push(JSON.parse(m.Body!) as { source: string; 'detail-type': string; detail: unknown });
  }
  return out;
}

describe('job events on EventBridge (moto)', () => {
  it('a COMPLETE reaches a subscribed queue with source, detail-type and the event as detail; PROGRESSING does not match the rule', async () => {
    const queueUrl = await subscribed('swiftvr-jobs');
    const sink = new EventBridgeSink(makeEventBridgeClient({ region: 'us-east-1', endpoint: moto.endpoint }), 'swiftvr-jobs');
    const complete = jobEvent('COMPLETE', 'show/index', {
      outputs: { rendition: 'output/show/index/restored/media.m3u8' },
      segments: 3,
      frames: 30,
      durationSeconds: 4.2,
      figures: { fps: 7.14, fallbacks: 0 },
    });
    await sink.publish(
      jobEvent(
        'PROGRESSING',
        'show/index',
        {
          segmentsDone: 3,
          segmentsTotal: 3,
          framesDone: 30,
          percent: 100,
          fps: 7.1,
          secondsLeft: 0,
        },
        { seq: 2 },
      ),
    );
    await sink.publish(complete);
    const got = await received(queueUrl);
    expect(got).toHaveLength(1);
    expect(got[0]!.source).toBe('swiftvr.jobs');
    expect(got[0]!['detail-type']).toBe('SwiftVR Job State Change');
    expect(jobEventSchema.parse(got[0]!.detail)).toEqual(complete);
  });

  it('through the store-backed sink, an event emitted twice (a redelivered message) is delivered once', async () => {
    const queueUrl = await subscribed('default');
    const logs: Record<string, unknown>[] = [];
    const sink = new StoreEventSink(
      store,
      'output/',
      new EventBridgeSink(makeEventBridgeClient({ region: 'us-east-1', endpoint: moto.endpoint }), 'default'),
      (l) => logs.push(l),
    );
    const error = jobEvent('ERROR', 'poison/index', {
      code: 'bad-input',
      reason: 'segment sn=1 (input/poison/96x64/seg_001.ts) is not a readable MPEG-TS segment',
      sn: 1,
    });
    await sink.publish(error);
    await sink.publish({ ...error, time: new Date(Date.now() + 5000).toISOString() });
    const got = await received(queueUrl);
    expect(got.map((m) => (m.detail as { id: string }).id)).toEqual(['poison/index:ERROR']);
    expect(logs.filter((l) => l.event === 'job-event-failed')).toEqual([]);
    expect(await store.head('output/poison/index/events/ERROR.json')).toBeDefined();
  });
});
