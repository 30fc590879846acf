import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../lib/config.js';
import { REPO_ROOT } from '../lib/paths.js';
import { SwiftvrStack } from '../lib/swiftvr-stack.js';
import { actionsOf, newApp, policyStatements, removeScratch, scratchDir } from './helpers.js';

let managed: SwiftvrStack;
let asg: SwiftvrStack;
let managedTemplate: Template;
let asgTemplate: Template;

beforeAll(() => {
  const app = newApp();
  managed = new SwiftvrStack(app, 'SwiftVR', { config: readConfig(() => undefined) });
  const asgConfig = readConfig((k) => ({ 'swiftvr:capacity': 'asg', 'swiftvr:alarmEmail': 'ops@example.com' })[k]);
  asg = new SwiftvrStack(app, 'SwiftVRAsg', { config: asgConfig });
  managedTemplate = Template.fromStack(managed);
  asgTemplate = Template.fromStack(asg);
});

afterAll(removeScratch);

const violations = (stack: SwiftvrStack): string[] =>
  new AwsSolutionsChecks()
    .validateScope(stack)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));

describe('SwiftvrStack', () => {
  it('passes every cdk-nag AwsSolutions rule (findings acknowledged with reasons in the constructs)', () => {
    expect(violations(managed)).toEqual([]);
    expect(violations(asg)).toEqual([]);
  });

  it("gives no IAM principal a wildcard action, except aws-cdk-lib's ECS agent statement on the GPU instances", () => {
    const wild = (t: Template): string[] =>
      policyStatements(t).flatMap(({ owner, statement }) =>
        actionsOf(statement)
          .filter((a) => a.includes('*'))
          .map((a) => `${owner}: ${a}`),
      );
    expect(wild(managedTemplate)).toEqual([]);
    expect(wild(asgTemplate)).toEqual([expect.stringMatching(/^WorkersInstanceRole.*: ecs:Submit\*$/)]);
  });

  it('creates nothing that bills by the hour while idle', () => {
    for (const t of [managedTemplate, asgTemplate]) {
      for (const type of ['AWS::EC2::NatGateway', 'AWS::EC2::Instance', 'AWS::KMS::Key', 'AWS::WAFv2::WebACL', 'AWS::EC2::VPCEndpoint']) {
        const found = Object.values(t.findResources(type)).filter(
          (r) => (r as { Properties?: { VpcEndpointType?: string } }).Properties?.VpcEndpointType !== 'Gateway',
        );
        expect(found, type).toHaveLength(0);
      }
      t.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 0 });
      t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0 });
    }
    asgTemplate.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '0' });
  });

  it('creates exactly this inventory: one job queue with its DLQ, one media bucket behind one distribution, one GPU service scaled on backlog', () => {
    // The construct tests assert each resource's settings; this pins what the stack as a whole
    // creates, so a resource appearing or vanishing is a decision someone made.
    const resources = managedTemplate.toJSON().Resources as Record<string, { Type: string }>;
    const inventory: Record<string, number> = {};
    for (const r of Object.values(resources)) inventory[r.Type] = (inventory[r.Type] ?? 0) + 1;
    expect(inventory).toEqual({
      // ingest: S3 events -> EventBridge rule -> router Lambda -> SQS FIFO job queue, its DLQ, the router's failure queue
      'AWS::Events::Rule': 1,
      'AWS::Lambda::Function': 1,
      'AWS::Lambda::Permission': 1,
      'AWS::SQS::Queue': 3,
      'AWS::SQS::QueuePolicy': 3,
      // storage and delivery: the media bucket and its access-log bucket, CloudFront with OAC
      'AWS::S3::Bucket': 2,
      'AWS::S3::BucketPolicy': 2,
      'AWS::CloudFront::Distribution': 1,
      'AWS::CloudFront::OriginAccessControl': 1,
      'AWS::CloudFront::CachePolicy': 2,
      'AWS::CloudFront::Function': 1,
      'AWS::CloudFront::ResponseHeadersPolicy': 1,
      // workers: network, cluster, capacity, service, backlog scaling
      'AWS::EC2::VPC': 1,
      'AWS::EC2::Subnet': 2,
      'AWS::EC2::RouteTable': 2,
      'AWS::EC2::Route': 2,
      'AWS::EC2::SubnetRouteTableAssociation': 2,
      'AWS::EC2::InternetGateway': 1,
      'AWS::EC2::VPCGatewayAttachment': 1,
      'AWS::EC2::VPCEndpoint': 1,
      'AWS::EC2::FlowLog': 1,
      'AWS::EC2::SecurityGroup': 1,
      'AWS::ECS::Cluster': 1,
      'AWS::ECS::CapacityProvider': 1,
      'AWS::ECS::TaskDefinition': 1,
      'AWS::ECS::Service': 1,
      'AWS::ApplicationAutoScaling::ScalableTarget': 1,
      'AWS::ApplicationAutoScaling::ScalingPolicy': 2,
      'AWS::IAM::Role': 5,
      'AWS::IAM::Policy': 3,
      'AWS::IAM::InstanceProfile': 1,
      'AWS::Logs::LogGroup': 2,
      // job events: the bus the router and workers send SUBMITTED..COMPLETE to (docs/events.md)
      'AWS::Events::EventBus': 1,
      // monitoring: alarms to one topic, a dashboard
      'AWS::CloudWatch::Alarm': 6,
      'AWS::CloudWatch::Dashboard': 1,
      'AWS::SNS::Topic': 1,
      'AWS::SNS::TopicPolicy': 1,
    });
  });

  it('sends job events to its own bus: the worker and the router are told its name and may PutEvents on it alone', () => {
    const bus = Object.keys(managedTemplate.findResources('AWS::Events::EventBus'))[0]!;
    const task = Object.values(managedTemplate.findResources('AWS::ECS::TaskDefinition'))[0] as {
      Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] };
    };
    const env = Object.fromEntries(task.Properties.ContainerDefinitions[0]!.Environment.map((e) => [e.Name, e.Value]));
    expect(env['SWIFTVR_EVENT_BUS']).toEqual({ Ref: bus });
    managedTemplate.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { SWIFTVR_EVENT_BUS: { Ref: bus } } } });
    const puts = policyStatements(managedTemplate).filter((p) => actionsOf(p.statement).includes('events:PutEvents'));
    expect(puts.map((p) => p.statement.Resource)).toEqual([{ 'Fn::GetAtt': [bus, 'Arn'] }, { 'Fn::GetAtt': [bus, 'Arn'] }]);
  });

  it("tells the workers their instance type, which prices their seconds: the group's type, or the metadata service on Managed Instances", () => {
    const envOf = (t: Template): Record<string, unknown> => {
      const task = Object.values(t.findResources('AWS::ECS::TaskDefinition'))[0] as {
        Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] };
      };
      return Object.fromEntries(task.Properties.ContainerDefinitions[0]!.Environment.map((e) => [e.Name, e.Value]));
    };
    expect(envOf(asgTemplate)['SWIFTVR_INSTANCE_TYPE']).toBe('g5.xlarge');
    expect(envOf(managedTemplate)['SWIFTVR_INSTANCE_TYPE']).toBe('imds');
  });

  it('synthesises offline through the CDK app entry (cdk.json "app"), with cdk-nag as a validation plugin', () => {
    const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk', 'cdk.json'), 'utf8')) as { app: string };
    expect(cdkJson.app).toBe('npx tsx bin/swiftvr.ts');
    const outdir = scratchDir('swiftvr-synth-');
    const run = (context: Record<string, string>) =>
      spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bin/swiftvr.ts'], {
        cwd: path.join(REPO_ROOT, 'cdk'),
        env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context), AWS_EC2_METADATA_DISABLED: 'true' },
        encoding: 'utf8',
        timeout: 180_000,
      });
    const ok = run({ 'swiftvr:capacity': 'asg' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(existsSync(path.join(outdir, 'SwiftVR.template.json'))).toBe(true);
    // Validation plugins (cdk-nag among them) fail the synth on a violation; none did.
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
    };
    for (const r of report.pluginReports) expect([r.pluginName, r.conclusion, r.violations]).toEqual([r.pluginName, 'success', []]);
    const bad = run({ 'swiftvr:maxTasks': 'lots' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('swiftvr:maxTasks is "lots"; it must be an integer from 1 to 1000');
  });
});
