// GPU capacity for the worker tasks: ECS Managed Instances (default: AWS launches, patches and
// retires the GPU instances as tasks need them) or an Auto Scaling group on the GPU-optimised ECS AMI.
// Either way zero tasks means zero instances.
import { Size, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { acknowledgeWildcardResources } from '../grants.js';
import type { WorkerNetwork } from './network.js';

/** Where the GPU tasks run; a fixed tag keeps each option's settings apart. */
export type WorkerCapacity =
  | {
      readonly kind: 'managed-instances';
      /** Instance families to choose from, e.g. ['g5', 'g6']. */
      readonly instanceFamilies: readonly string[];
      /** @default false */
      readonly spot?: boolean;
    }
  | {
      readonly kind: 'asg';
      /** e.g. 'g5.xlarge'. */
      readonly instanceType: string;
    };

/** Adds the capacity provider to the cluster; returns its name. */
export function addGpuCapacity(
  scope: Construct,
  cluster: ecs.Cluster,
  network: WorkerNetwork,
  capacity: WorkerCapacity,
  task: { readonly cpu: number; readonly memoryMiB: number; readonly maxTasks: number },
): string {
  return capacity.kind === 'managed-instances'
    ? addManagedInstances(scope, cluster, network, capacity, task.cpu, task.memoryMiB)
    : addAutoScalingGroup(scope, cluster, network, capacity, task.maxTasks);
}

function addManagedInstances(
  scope: Construct,
  cluster: ecs.Cluster,
  network: WorkerNetwork,
  capacity: Extract<WorkerCapacity, { kind: 'managed-instances' }>,
  taskCpu: number,
  taskMemoryMiB: number,
): string {
  const provider = new ecs.ManagedInstancesCapacityProvider(scope, 'ManagedInstances', {
    subnets: network.subnets.subnets,
    securityGroups: [network.securityGroup],
    capacityOptionType: capacity.spot ? ecs.CapacityOptionType.SPOT : ecs.CapacityOptionType.ON_DEMAND,
    propagateTags: ecs.PropagateManagedInstancesTags.CAPACITY_PROVIDER,
    taskVolumeStorage: Size.gibibytes(100),
    instanceRequirements: {
      // One NVIDIA GPU per instance: a task reserves one GPU, a bigger box would idle the rest.
      acceleratorManufacturers: [ec2.AcceleratorManufacturer.NVIDIA],
      acceleratorTypes: [ec2.AcceleratorType.GPU],
      acceleratorCountMin: 1,
      acceleratorCountMax: 1,
      allowedInstanceTypes: capacity.instanceFamilies.map((f) => `${f}.*`),
      vCpuCountMin: Math.ceil(taskCpu / 1024),
      // Room for the task plus the ECS agent and the OS.
      memoryMin: Size.gibibytes(Math.ceil((taskMemoryMiB + 1024) / 1024)),
    },
  });
  cluster.addManagedInstancesCapacityProvider(provider);
  Validations.of(provider).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForManagedInstances]',
    reason:
      'The AWS managed infrastructure policy is what ECS Managed Instances is designed around: ECS launches, patches and retires the instances with it.',
  });
  // aws-cdk-lib's scoped-down default instance policy (ECS agent registration and polling).
  Validations.of(provider).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ecs:DiscoverPollEndpoint supports no resource-level permission.',
  });
  acknowledgeWildcardResources(
    provider,
    [Stack.of(scope).formatArn({ service: 'ecs', resource: 'container-instance', resourceName: '*' })],
    'Container instance ids are assigned when ECS launches an instance; the agent polls and reports for its own.',
  );
  return provider.capacityProviderName;
}

function addAutoScalingGroup(
  scope: Construct,
  cluster: ecs.Cluster,
  network: WorkerNetwork,
  capacity: Extract<WorkerCapacity, { kind: 'asg' }>,
  maxTasks: number,
): string {
  const role = new iam.Role(scope, 'InstanceRole', {
    assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    description: 'SwiftVR GPU container instances (ECS agent)',
  });
  const launchTemplate = new ec2.LaunchTemplate(scope, 'GpuLaunchTemplate', {
    // Resolved from the public SSM parameter at deploy time: no AMI lookup at synth time.
    machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
    instanceType: new ec2.InstanceType(capacity.instanceType),
    securityGroup: network.securityGroup,
    role,
    userData: ec2.UserData.forLinux(),
    requireImdsv2: true,
    associatePublicIpAddress: network.publicWorkers,
    detailedMonitoring: true,
    blockDevices: [
      {
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(100, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
      },
    ],
  });
  const group = new autoscaling.AutoScalingGroup(scope, 'GpuAutoScalingGroup', {
    vpc: network.vpc,
    vpcSubnets: network.subnets,
    launchTemplate,
    minCapacity: 0,
    maxCapacity: maxTasks,
  });
  const provider = new ecs.AsgCapacityProvider(scope, 'AsgCapacityProvider', {
    autoScalingGroup: group,
    // ECS adds instances while tasks wait for a GPU and removes empty ones: zero tasks -> zero instances.
    enableManagedScaling: true,
    targetCapacityPercent: 100,
    enableManagedTerminationProtection: true,
    enableManagedDraining: true,
  });
  cluster.addAsgCapacityProvider(provider);
  // aws-cdk-lib's standard ECS agent statements on the instance role.
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Action::ecs:Submit*]',
    reason: 'aws-cdk-lib grants the ECS agent its state-change calls (SubmitTaskStateChange and siblings) on the cluster only.',
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ecs:DiscoverPollEndpoint and the ECR token call support no resource-level permission.',
  });
  Validations.of(group).acknowledge({
    id: 'AwsSolutions-AS3',
    reason:
      'ECS managed scaling drives this group (zero instances when idle); its activity shows in the ECS service events and the dashboard.',
  });
  return provider.capacityProviderName;
}
