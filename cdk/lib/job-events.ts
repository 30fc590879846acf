// Job events (docs/events.md): the EventBridge bus the router and the workers send them to, and,
// when an address is configured, a rule that mails each job's COMPLETE and ERROR through SNS.
import { Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from '../../src/events/job-events.js';

export interface JobEventsProps {
  /** 'stack': a bus of the stack's own; 'default': the account's default bus. */
  readonly bus: 'stack' | 'default';
  /** Mailed on COMPLETE and ERROR. @default - no rule */
  readonly notifyEmail?: string;
}

export class JobEvents extends Construct {
  public readonly bus: events.IEventBus;
  public readonly notifications?: sns.Topic;
  public readonly notifyRule?: events.Rule;

  constructor(scope: Construct, id: string, props: JobEventsProps) {
    super(scope, id);
    this.bus =
      props.bus === 'default'
        ? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default')
        : new events.EventBus(this, 'Bus', { description: 'SwiftVR job state changes (source swiftvr.jobs)' });
    if (props.notifyEmail !== undefined) {
      this.notifications = new sns.Topic(this, 'Notifications', { displayName: 'SwiftVR jobs', enforceSSL: true });
      Validations.of(this.notifications).acknowledge({
        id: 'AwsSolutions-SNS2',
        reason: 'Job notifications carry job names, states and output keys, no media; a customer key bills every idle month.',
      });
      this.notifications.addSubscription(new subscriptions.EmailSubscription(props.notifyEmail));
      // The example rule of docs/events.md: every COMPLETE and ERROR of any job.
      this.notifyRule = new events.Rule(this, 'CompleteOrError', {
        eventBus: this.bus,
        description: 'Mail each SwiftVR job that completed or failed',
        eventPattern: { source: [EVENT_SOURCE], detailType: [EVENT_DETAIL_TYPE], detail: { type: ['COMPLETE', 'ERROR'] } },
        targets: [
          new targets.SnsTopic(this.notifications, {
            message: events.RuleTargetInput.fromText(
              `SwiftVR job ${events.EventField.fromPath('$.detail.job')}: ${events.EventField.fromPath('$.detail.type')} ` +
                `${events.EventField.fromPath('$.detail.reason')} ${events.EventField.fromPath('$.detail.outputs.rendition')}`,
            ),
          }),
        ],
      });
    }
  }

  /** Lets `grantee` send events to the bus (events:PutEvents on it only). */
  grantPut(grantee: iam.IGrantable): void {
    this.bus.grantPutEventsTo(grantee);
  }
}
