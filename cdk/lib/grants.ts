// Object-level S3 grants with explicit actions. Bucket.grantRead/grantReadWrite hand out
// wildcard actions (s3:GetObject*, s3:List*, s3:DeleteObject* ...); the runtime needs a
// handful of exact ones, scoped to a key prefix.
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';

export type ObjectAccess = 'read' | 'write' | 'tag' | 'delete';

const ACTIONS: Record<ObjectAccess, string[]> = {
  // GetObject also answers HeadObject.
  read: ['s3:GetObject'],
  write: ['s3:PutObject'],
  // A PutObject that carries a Tagging header (state checkpoints) needs this as well.
  tag: ['s3:PutObjectTagging'],
  delete: ['s3:DeleteObject'],
};

/**
 * Grants `access` on the objects under `prefix` ('' = the whole bucket), plus s3:ListBucket
 * limited to that prefix (so a missing key reads as 404, not 403). Returns the object ARN pattern.
 */
export function grantObjects(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: string, access: readonly ObjectAccess[]): string {
  const objects = bucket.arnForObjects(`${prefix}*`);
  iam.Grant.addToPrincipal({ grantee, actions: access.flatMap((a) => ACTIONS[a]), resourceArns: [objects] });
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:ListBucket'],
    resourceArns: [bucket.bucketArn],
    ...(prefix === '' ? {} : { conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } }),
  });
  return objects;
}

/**
 * Acknowledges cdk-nag AwsSolutions-IAM5 for wildcard resources that cannot be narrowed
 * (object keys under a prefix, task ids). cdk-nag 3 matches each finding by its exact id,
 * which holds the resource as flattened CloudFormation (e.g. `<Bucket1234.Arn>/output/*`).
 */
export function acknowledgeWildcardResources(scope: IConstruct, resources: readonly string[], reason: string): void {
  const stack = Stack.of(scope);
  for (const r of resources) {
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(r))}]`, reason });
  }
}
