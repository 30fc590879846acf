// One line for what zod found wrong in a message, record or table from outside.
import type { z } from 'zod';

/** "field.path: rule" for each problem zod found (at most 3). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length === 0 ? '(root)' : i.path.join('.')}: ${i.message}`)
    .join('; ');
}
