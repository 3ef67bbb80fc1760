import type { SharedTransition } from '../core/index.js';
import type { SharedStoreMessage } from './store.interface.js';

// The wire format of shared transitions and broadcasts, for stores that keep them as text.

const SHARED_STATES: ReadonlySet<string> = new Set(['open', 'closed', 'forced_open', 'disabled', 'reset']);

/** A transition as JSON text, keys in a fixed order (so equal transitions are equal text). */
export function encodeTransition(transition: SharedTransition): string {
  const { state, openUntil, reason, at } = transition;
  return JSON.stringify(openUntil === undefined ? { state, reason, at } : { state, openUntil, reason, at });
}

/** Reads a transition written by `encodeTransition` (or an equal object); null for anything else. */
export function decodeTransition(value: unknown): SharedTransition | null {
  const t = typeof value === 'string' ? parseJson(value) : value;
  if (t === null || typeof t !== 'object') return null;
  const { state, openUntil, reason, at } = t as Record<string, unknown>;
  if (typeof state !== 'string' || !SHARED_STATES.has(state) || typeof at !== 'number' || !Number.isFinite(at)) return null;
  if (openUntil !== undefined && (typeof openUntil !== 'number' || !Number.isFinite(openUntil))) return null;
  return {
    state: state as SharedTransition['state'],
    ...(openUntil === undefined ? {} : { openUntil }),
    reason: typeof reason === 'string' ? reason : '',
    at,
  };
}

/** A broadcast as JSON text. */
export function encodeStoreMessage(message: SharedStoreMessage): string {
  return `{"origin":${JSON.stringify(message.origin)},"name":${JSON.stringify(message.name)},"transition":${encodeTransition(message.transition)}}`;
}

/** Reads a broadcast written by `encodeStoreMessage`; null for anything else. */
export function decodeStoreMessage(text: string): SharedStoreMessage | null {
  const m = parseJson(text);
  if (m === null || typeof m !== 'object') return null;
  const { origin, name, transition } = m as Record<string, unknown>;
  const decoded = decodeTransition(transition);
  if (typeof origin !== 'string' || typeof name !== 'string' || decoded === null) return null;
  return { origin, name, transition: decoded };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
