/** Joins the pieces an async iterable yields (a streamed response body), counting them. */
export async function joinPieces(pieces: AsyncIterable<string>): Promise<{ text: string; pieces: number }> {
  let text = '';
  let count = 0;
  for await (const piece of pieces) {
    text += piece;
    count++;
  }
  return { text, pieces: count };
}

/**
 * Runs `work` and counts the event-loop turns (setImmediate callbacks) that ran meanwhile: 0 when
 * `work` never let the loop go on, only chained microtasks.
 */
export async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let ticking = true;
  const tick = () => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { result: await work(), turns };
  } finally {
    ticking = false;
  }
}
