/**
 * The labels Java's SDK clients set on their connection: `source=sdk`, `module`, and `AppName`
 * (`unknown` when the application names none). The module always wins: a server routes on it.
 */
export function sdkLabels(module: string, appName: string | undefined, labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return { source: 'sdk', ...(appName === undefined ? { AppName: 'unknown' } : {}), ...labels, module };
}
