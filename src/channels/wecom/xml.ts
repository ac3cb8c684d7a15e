/**
 * WeCom's callbacks and passive replies are small flat XML documents under one `<xml>` root. This reads
 * and writes them with fast-xml-parser, with the checks a body from the network needs: well-formed, no
 * DOCTYPE (WeCom never sends one, and it is where entity-expansion attacks live), one `<xml>` root.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

/** An element's content: text, or nested elements (arrays only for the tags listed in `ARRAY_TAGS`). */
export type XmlNode = string | { [tag: string]: XmlNode | XmlNode[] };
export type XmlRecord = { [tag: string]: XmlNode | XmlNode[] };

/** Tags that repeat in WeCom's callbacks: read as arrays even when one is present. */
const ARRAY_TAGS = new Set(['SelectedItem', 'OptionId', 'OpitonId']);

const parser = new XMLParser({
  // Keep every value a string: MsgId is a 64-bit integer and must not become a lossy number.
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: true,
  trimValues: true,
  ignoreDeclaration: true,
  processEntities: true,
  isArray: (tagName) => ARRAY_TAGS.has(tagName),
});

const builder = new XMLBuilder({ cdataPropName: '__cdata', format: false, suppressEmptyNode: false });

export class XmlRefused extends Error {
  override name = 'XmlRefused';
}

/** Parses a WeCom XML document and returns the children of its `<xml>` root; throws XmlRefused. */
export function readXml(text: string): XmlRecord {
  if (/<!DOCTYPE/i.test(text)) throw new XmlRefused('a DOCTYPE is not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlRefused(`not well-formed XML (line ${valid.err.line})`);
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new XmlRefused('XML that cannot be read', { cause: err });
  }
  const root = doc['xml'];
  if (root === undefined || root === null || typeof root !== 'object' || Array.isArray(root)) {
    // `<xml></xml>` parses to '' — an empty document is as unusable as a missing root.
    throw new XmlRefused('no <xml> root element');
  }
  return root as XmlRecord;
}

/** A child's text, or undefined when it is absent or not text. */
export function textOf(record: XmlRecord, tag: string): string | undefined {
  const v = record[tag];
  return typeof v === 'string' ? v : undefined;
}

/** Values written as CDATA (strings) or bare (numbers), in key order, under one `<xml>` root. */
export type XmlOut = Record<string, string | number>;

/** Builds `<xml>…</xml>`: strings as CDATA (a `]]>` inside is split safely), numbers bare. */
export function writeXml(fields: XmlOut): string {
  const root: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) root[k] = typeof v === 'number' ? v : { __cdata: v };
  return builder.build({ xml: root }) as string;
}
