import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, readConfig } from '../lib/config.js';
import { isSwiftvrError } from '../../src/errors.js';

const from = (ctx: Record<string, unknown>) => readConfig((key) => ctx[key]);

function errorOf(ctx: Record<string, unknown>): string {
  try {
    from(ctx);
  } catch (e) {
    expect(isSwiftvrError(e) && e.kind === 'bad-input').toBe(true);
    return (e as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(ctx)}`);
}

describe('deployment configuration from CDK context', () => {
  it('defaults to Managed Instances on g5/g6, scale to zero after 10 idle minutes, the shipped model', () => {
    const c = from({});
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(c.capacity).toBe('managed-instances');
    expect(c.instanceFamilies).toEqual(['g5', 'g6']);
    expect(c.modelPath).toBe('/app/models/swiftvr-x2.onnx');
    expect(c.sourcePrefix).toBe('input/');
    expect(c.outputPrefix).toBe('output/');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads -c strings: numbers, lists, booleans, prefixes without a trailing slash', () => {
    const c = from({
      'swiftvr:capacity': 'asg',
      'swiftvr:instanceType': 'g6.2xlarge',
      'swiftvr:maxTasks': '8',
      'swiftvr:instanceFamilies': 'g6, g6e',
      'swiftvr:logRetentionDays': '14',
      'swiftvr:sourcePrefix': 'in',
      'swiftvr:outputPrefix': 'out/hls',
      'swiftvr:bucket': 'my-media-bucket',
      'swiftvr:alarmEmail': 'ops@example.com',
      'swiftvr:liveLatencyBudgetSeconds': '2.5',
      'swiftvr:maxFallbackShare': '0.2',
      'swiftvr:eventBus': 'default',
      'swiftvr:notifyEmail': 'jobs@example.com',
    });
    expect(c.capacity).toBe('asg');
    expect(c.instanceType).toBe('g6.2xlarge');
    expect(c.maxTasks).toBe(8);
    expect(c.instanceFamilies).toEqual(['g6', 'g6e']);
    expect(c.logRetentionDays).toBe(14);
    expect(c.sourcePrefix).toBe('in/');
    expect(c.outputPrefix).toBe('out/hls/');
    expect(c.bucketName).toBe('my-media-bucket');
    expect(c.alarmEmail).toBe('ops@example.com');
    expect(c.liveLatencyBudgetSeconds).toBe(2.5);
    expect(c.maxFallbackShare).toBe(0.2);
    expect([c.eventBus, c.notifyEmail]).toEqual(['default', 'jobs@example.com']);
  });

  it('accepts typed values from cdk.json', () => {
    const c = from({ 'swiftvr:maxTasks': 2, 'swiftvr:spot': true, 'swiftvr:instanceFamilies': ['g5'], 'swiftvr:sourcePrefix': '' });
    expect(c.maxTasks).toBe(2);
    expect(c.spot).toBe(true);
    expect(c.instanceFamilies).toEqual(['g5']);
    expect(c.sourcePrefix).toBe('');
  });

  it('names the key, the value and the rule it broke', () => {
    expect(errorOf({ 'swiftvr:capacity': 'fargate' })).toBe("swiftvr:capacity is 'fargate'; it must be 'managed-instances' or 'asg'");
    expect(errorOf({ 'swiftvr:maxTasks': '0' })).toBe('swiftvr:maxTasks is "0"; it must be an integer from 1 to 1000');
    expect(errorOf({ 'swiftvr:maxTasks': 'many' })).toContain('swiftvr:maxTasks is "many"');
    expect(errorOf({ 'swiftvr:logRetentionDays': '10' })).toContain(
      'swiftvr:logRetentionDays is 10; CloudWatch Logs accepts only 1, 3, 5, 7, 14',
    );
    expect(errorOf({ 'swiftvr:taskCpu': '1000' })).toBe('swiftvr:taskCpu is 1000; it must be a multiple of 256 CPU units');
    expect(errorOf({ 'swiftvr:instanceType': 'big' })).toContain("instanceType 'big' is not an instance type");
    expect(errorOf({ 'swiftvr:instanceFamilies': 'g5,G6!' })).toContain("entry 'G6!' is not an instance family name");
    expect(errorOf({ 'swiftvr:modelPath': 's3://b/m.onnx' })).toContain('must be an absolute path inside the worker image');
    expect(errorOf({ 'swiftvr:bucket': 'Bad_Bucket' })).toContain("swiftvr:bucket 'Bad_Bucket' is not a valid S3 bucket name");
    expect(errorOf({ 'swiftvr:spot': 'true', 'swiftvr:capacity': 'asg' })).toContain("Spot is offered for 'managed-instances' only");
    expect(errorOf({ 'swiftvr:sourcePrefix': 'media/', 'swiftvr:outputPrefix': 'media/out' })).toContain('overlap');
    expect(errorOf({ 'swiftvr:outputPrefix': '' })).toContain('outputPrefix is empty');
    expect(errorOf({ 'swiftvr:sourcePrefix': '../x' })).toContain('must be a relative key prefix');
    expect(errorOf({ 'swiftvr:alarmEmail': 'nobody' })).toContain("'nobody' is not an e-mail address");
    expect(errorOf({ 'swiftvr:maxFallbackShare': '1.5' })).toBe('swiftvr:maxFallbackShare is "1.5"; it must be a number from 0.01 to 0.99');
    expect(errorOf({ 'swiftvr:eventBus': 'mine' })).toBe(
      "swiftvr:eventBus is 'mine'; it must be 'stack' (a bus of the stack's own) or 'default'",
    );
    expect(errorOf({ 'swiftvr:liveLatencyBudgetSeconds': 'soon' })).toBe(
      'swiftvr:liveLatencyBudgetSeconds is "soon"; it must be a number from 0.5 to 600',
    );
  });
});
