// The EC2 instance type a worker runs on, for its price: given (SWIFTVR_INSTANCE_TYPE), or read
// from the instance metadata service (IMDSv2) when the deployment says `imds` (ECS Managed
// Instances choose the type per task). A metadata service that does not answer in 2 s leaves the
// worker unpriced, never stopped.
const IMDS = 'http://169.254.169.254/latest';

export async function resolveInstanceType(
  configured: string,
  o: { readonly fetch?: typeof fetch; readonly base?: string; readonly timeoutMs?: number } = {},
): Promise<{ readonly instanceType: string; readonly note?: string }> {
  if (configured !== 'imds') return { instanceType: configured };
  const get = o.fetch ?? fetch;
  const base = o.base ?? IMDS;
  const signal = AbortSignal.timeout(o.timeoutMs ?? 2000);
  try {
    const token = await get(`${base}/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' }, signal });
    if (!token.ok) throw new Error(`token request answered ${token.status}`);
    const res = await get(`${base}/meta-data/instance-type`, { headers: { 'X-aws-ec2-metadata-token': await token.text() }, signal });
    if (!res.ok) throw new Error(`instance-type answered ${res.status}`);
    const type = (await res.text()).trim();
    if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(type))
      throw new Error(`instance-type is ${JSON.stringify(type.slice(0, 40))}, not an instance type`);
    return { instanceType: type };
  } catch (e) {
    return {
      instanceType: 'local',
      note: `the instance metadata service gave no instance type (${e instanceof Error ? e.message : String(e)}); job costs stay unpriced`,
    };
  }
}
