import type { CircuitState } from './circuit-state.js';

/** One breaker's statistics, with the exact keys of the wire format. */
export interface CircuitBreakerSnapshot {
  name: string;
  state: CircuitState;
  /** failures counting toward the current trip decision; 0 right after any state change */
  failure_count: number;
  /** the count rule, or null for a windowed breaker without one */
  failure_threshold: number | null;
  total_requests: number;
  total_successes: number;
  total_failures: number;
  total_rejections: number;
  total_timeouts: number;
  total_ignored: number;
  total_slow_calls: number;
  /** percent of total_requests, one decimal; 100.0 when nothing ran */
  success_rate: number;
  rejection_rate: number;
  failure_rate: number;
  /** seconds until probes are admitted, one decimal (rounded up); present only while `open` */
  time_until_retry?: number;
  opened_at: string | null;
  last_failure_at: string | null;
  last_state_change_at: string | null;
}

/** Percent of `total`, rounded to one decimal. */
export function percent(part: number, total: number): number {
  return Math.round((part / total) * 1000) / 10;
}
