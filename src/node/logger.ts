import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/** How a node writes its log: JSON lines for machines, or readable lines for a person. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The format asked for; else readable lines when stdout is a terminal, JSON lines otherwise. */
export function resolveLogFormat(given: LogFormat | undefined, stdoutIsTTY: boolean): LogFormat {
  return given ?? (stdoutIsTTY ? 'pretty' : 'json');
}

/** The node's logger on stdout, in the given format (or the one that suits stdout). */
export function createNodeLogger(level: pino.LevelWithSilent, format: LogFormat | undefined): Logger {
  if (resolveLogFormat(format, process.stdout.isTTY === true) === 'json') return pino({ level });
  // pino-pretty as an in-process stream, not pino's worker-thread transport: a node logs little,
  // and a synchronous write keeps the last lines before process.exit (a forced stop) on screen.
  return pino({ level }, pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
