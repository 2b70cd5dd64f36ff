// One pino logger for every process. Logs go to stderr so CLI output on stdout stays clean.
import { pino, type Logger } from 'pino';
import { loadConfig } from './config.js';

function level(): string {
  try {
    return loadConfig().logLevel;
  } catch {
    return 'info';
  }
}

export const logger: Logger = pino({ level: level(), base: { pid: process.pid } }, pino.destination(2));

export function childLogger(component: string): Logger {
  return logger.child({ component });
}
