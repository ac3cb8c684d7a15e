/** Reading the outbox as notices, for the tests that count what reached whom. */

/**
 * Whether a notice whose own rows all ended unreachable reached a stand-in through that person's own row
 * of the same notice (they receive it in their own right, and are not written a second row): the first
 * row's chain names them as given, and their own row (`<key before the recipient>-<their id>`) was sent.
 */
export function deliveredThroughOwnRow(
  first: { key: string; recipient: string; params: unknown },
  statusByKey: ReadonlyMap<string, string>,
): boolean {
  const given = ((first.params as { chain?: { given?: string[] } } | null)?.chain?.given ?? []).filter((id) => id !== first.recipient);
  const suffix = `-${first.recipient}`;
  if (!first.key.endsWith(suffix)) return false;
  const prefix = first.key.slice(0, -suffix.length);
  return given.some((id) => statusByKey.get(`${prefix}-${id}`) === 'sent');
}
