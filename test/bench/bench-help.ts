// `--help` of a bench script prints its header comment (the leading `//` lines of the file).
import { readFile } from 'node:fs/promises';

export async function printHeaderHelp(scriptUrl: string): Promise<void> {
  const own = await readFile(new URL(scriptUrl), 'utf8');
  const header = own.split('\n').filter((_, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('//')));
  console.log(header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
}
