// Reading the config file named by --config (or the default path) and resolving it with the flags.
import { readFile } from 'node:fs/promises';
import { DEFAULT_CONFIG_PATH } from './defaults.js';
import { ConfigError } from './errors.js';
import { resolveConfig } from './resolve.js';
import type { XlbdConfig, XlbdFlags } from './types.js';

export interface LoadConfigOptions {
  /** Where to look when --config is not given (default /etc/xlb/xlb.yaml). */
  defaultPath?: string;
  checkFiles?: boolean;
}

/**
 * Loads the configuration for the given flags. An explicit --config that cannot be read is an
 * error; a missing default file means "defaults and flags only".
 */
export async function loadConfig(flags: XlbdFlags, options: LoadConfigOptions = {}): Promise<XlbdConfig> {
  const explicit = flags.config !== undefined;
  const file = flags.config ?? options.defaultPath ?? DEFAULT_CONFIG_PATH;
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!(code === 'ENOENT' && !explicit)) {
      throw new ConfigError('--config', `cannot read ${file} (${code ?? (e as Error).message})`);
    }
  }
  return resolveConfig({ yaml: text === undefined ? undefined : { text, file }, flags, checkFiles: options.checkFiles });
}
