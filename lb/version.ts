// xlb's version is the package version: one number for xlbd, the CLI and the API. package.json is
// found from this file (dist/ holds a link to it, made by the build).
import { readFileSync } from 'node:fs';

export const XLB_VERSION: string = (() => {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
