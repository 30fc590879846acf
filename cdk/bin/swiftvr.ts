// CDK app entry: `cd cdk && npx cdk synth` (offline) or `npx cdk deploy`.
// Configuration: `-c swiftvr:KEY=VALUE` (see lib/config.ts and docs/deploy.md).
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../lib/config.js';
import { SwiftvrStack } from '../lib/swiftvr-stack.js';

const app = new App();
const config = readConfig((key) => app.node.tryGetContext(key));
const stackName = (app.node.tryGetContext('swiftvr:stackName') as string | undefined) ?? 'SwiftVR';
new SwiftvrStack(app, stackName, {
  config,
  description: 'SwiftVR: HLS restoration and upscaling on GPU workers (ECS), S3 + SQS FIFO + CloudFront',
  // Account and region come from the CLI profile at deploy time; nothing is looked up at synth.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// AwsSolutions rules run on every synth; unacknowledged findings fail it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
