// The workers' network: a VPC whose workers only call out (S3 through a gateway endpoint, SQS, ECR,
// logs). With no NAT gateway the workers sit in public subnets (a public IP, no inbound rule), so
// nothing is billed while idle; with NAT they sit in private subnets.
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface WorkerNetworkProps {
  /** @default 0 */
  readonly natGateways?: number;
  /** @default - flow logs to CloudWatch Logs */
  readonly flowLogBucket?: s3.IBucket;
}

export interface WorkerNetwork {
  readonly vpc: ec2.Vpc;
  readonly subnets: ec2.SelectedSubnets;
  readonly securityGroup: ec2.SecurityGroup;
  /** Workers have public IPs (no NAT gateway). */
  readonly publicWorkers: boolean;
}

export function addWorkerNetwork(scope: Construct, props: WorkerNetworkProps): WorkerNetwork {
  const natGateways = props.natGateways ?? 0;
  const publicWorkers = natGateways === 0;
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    maxAzs: 3,
    natGateways,
    subnetConfiguration: publicWorkers
      ? [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }]
      : [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        ],
    gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    flowLogs: {
      all: props.flowLogBucket
        ? { destination: ec2.FlowLogDestination.toS3(props.flowLogBucket, 'vpc-flow/'), trafficType: ec2.FlowLogTrafficType.REJECT }
        : { trafficType: ec2.FlowLogTrafficType.REJECT },
    },
  });
  const subnets = vpc.selectSubnets({ subnetType: publicWorkers ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS });
  const securityGroup = new ec2.SecurityGroup(scope, 'WorkerSecurityGroup', {
    vpc,
    description: 'SwiftVR GPU workers: outbound only',
    allowAllOutbound: true,
  });
  return { vpc, subnets, securityGroup, publicWorkers };
}
