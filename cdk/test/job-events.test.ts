// The job-event bus: its own or the default one, PutEvents for exactly the grantee on exactly that
// bus, and the docs' rule that mails COMPLETE and ERROR when an address is configured.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from '../../src/events/job-events.js';
import { JobEvents } from '../lib/job-events.js';
import { actionsOf, newApp, only, policyStatements, removeScratch } from './helpers.js';

afterAll(removeScratch);

function synth(props: ConstructorParameters<typeof JobEvents>[2]): Template {
  const stack = new Stack(newApp(), 'Events');
  const events = new JobEvents(stack, 'JobEvents', props);
  const role = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  events.grantPut(role);
  return Template.fromStack(stack);
}

describe('job events in the stack', () => {
  it("a bus of the stack's own; the grantee may PutEvents on it and nothing else; no rule without an address", () => {
    const t = synth({ bus: 'stack' });
    const bus = only(t, 'AWS::Events::EventBus');
    const puts = policyStatements(t).filter((p) => actionsOf(p.statement).includes('events:PutEvents'));
    expect(puts).toHaveLength(1);
    expect(puts[0]!.statement.Resource).toEqual({ 'Fn::GetAtt': [bus.id, 'Arn'] });
    t.resourceCountIs('AWS::Events::Rule', 0);
    t.resourceCountIs('AWS::SNS::Topic', 0);
  });

  it('the default bus: no bus created, PutEvents on the default bus ARN', () => {
    const t = synth({ bus: 'default' });
    t.resourceCountIs('AWS::Events::EventBus', 0);
    const puts = policyStatements(t).filter((p) => actionsOf(p.statement).includes('events:PutEvents'));
    expect(JSON.stringify(puts[0]!.statement.Resource)).toContain(':event-bus/default');
  });

  it('with an address: a rule on the bus for COMPLETE and ERROR of swiftvr.jobs into an SNS topic with that subscription', () => {
    const t = synth({ bus: 'stack', notifyEmail: 'ops@example.com' });
    const rule = only(t, 'AWS::Events::Rule');
    expect(rule.props.EventPattern).toEqual({
      source: [EVENT_SOURCE],
      'detail-type': [EVENT_DETAIL_TYPE],
      detail: { type: ['COMPLETE', 'ERROR'] },
    });
    expect(rule.props.EventBusName).toEqual({ Ref: only(t, 'AWS::Events::EventBus').id });
    const topic = only(t, 'AWS::SNS::Topic');
    expect((rule.props.Targets as { Arn: unknown }[])[0]!.Arn).toEqual({ Ref: topic.id });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});
