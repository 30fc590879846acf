// Shared by the CDK tests: an App with the feature flags of cdk/cdk.json (so tests see what
// `cdk synth` sees), a scratch output folder, and template queries.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { REPO_ROOT } from '../lib/paths.js';

const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

const scratch: string[] = [];

/** A scratch folder under the system temp dir, removed by `removeScratch`. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** Removes every scratch folder (cloud assemblies, staged assets); call from afterAll. */
export function removeScratch(): void {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function newApp(context: Record<string, unknown> = {}): App {
  return new App({ outdir: scratchDir('swiftvr-cdk-'), context: { ...cdkJson.context, ...context } });
}

/** A bare stack to put one construct in. */
export function newStack(id = 'Test'): Stack {
  return new Stack(newApp(), id);
}

export type Json = Record<string, unknown>;

/** Every IAM policy statement of the template, with the logical id of its policy or role. */
export function policyStatements(template: Template): { owner: string; statement: Json }[] {
  const out: { owner: string; statement: Json }[] = [];
  for (const [id, r] of Object.entries(template.toJSON().Resources as Record<string, Json>)) {
    const props = (r.Properties ?? {}) as Json;
    if (r.Type === 'AWS::IAM::Policy') {
      for (const s of (props.PolicyDocument as Json).Statement as Json[]) out.push({ owner: id, statement: s });
    }
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of (props.Policies as Json[] | undefined) ?? []) {
        for (const s of (p.PolicyDocument as Json).Statement as Json[]) out.push({ owner: id, statement: s });
      }
    }
  }
  return out;
}

export const actionsOf = (s: Json): string[] => [s.Action].flat().filter((a): a is string => typeof a === 'string');

/** The one resource of a type, failing with the count when there is not exactly one. */
export function only(template: Template, type: string): { id: string; props: Json } {
  const all = Object.entries(template.findResources(type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  const [id, r] = all[0]!;
  return { id, props: (r as Json).Properties as Json };
}
