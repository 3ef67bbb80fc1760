/** A store's logger that keeps every line, for assertions on what a store logs and how often. */
export function captureStoreLog() {
  const lines: { level: 'log' | 'warn'; message: string }[] = [];
  return {
    lines,
    warnings: () => lines.filter((line) => line.level === 'warn').map((line) => line.message),
    logs: () => lines.filter((line) => line.level === 'log').map((line) => line.message),
    log: (message: string) => void lines.push({ level: 'log', message }),
    warn: (message: string) => void lines.push({ level: 'warn', message }),
  };
}
