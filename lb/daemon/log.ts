// xlbd's log: one line per event on stderr. Under systemd (JOURNAL_STREAM set) each line starts
// with a syslog priority prefix (<3> error, <4> warning, <6> info, <7> debug) that journald turns
// into the entry's priority; on a terminal the level is written as a word.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface LoggerOptions {
  /** Lowest level written (default info; XLBD_LOG_LEVEL=debug overrides). */
  level?: LogLevel;
  /** Defaults to process.stderr. */
  write?: (line: string) => void;
  journald?: boolean;
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const envLevel = process.env.XLBD_LOG_LEVEL as LogLevel | undefined;
  const min = RANK[o.level ?? (envLevel && envLevel in RANK ? envLevel : 'info')];
  const journald = o.journald ?? process.env.JOURNAL_STREAM !== undefined;
  const write = o.write ?? ((line: string) => process.stderr.write(line));
  const emit = (level: LogLevel, message: string) => {
    if (RANK[level] < min) return;
    // One event = one line, whatever the message contains.
    const text = message.replace(/\n/g, ' | ');
    write(journald ? `<${PRIORITY[level]}>${text}\n` : `xlbd ${level}: ${text}\n`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}
