// HTTP list-valued headers (Connection, Upgrade): RFC 9110 §5.6.1 comma-separated tokens, compared
// case-insensitively. Used by the strict handshake checks of both the server and the client.

/** The lower-cased, trimmed, non-empty tokens of one or more header values. */
export function headerTokens(values: string | readonly string[] | null | undefined): string[] {
  if (values === null || values === undefined) return [];
  const list = typeof values === 'string' ? [values] : values;
  return list.flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
}
