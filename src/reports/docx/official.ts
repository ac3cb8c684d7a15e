/**
 * An official Chinese document (公文) laid out after GB/T 9704-2012, as far as a generated file needs:
 * A4 with the standard margins; the issuing authority's mark in red with the red separator line; the
 * document number (文号); the title in 二号 小标宋; the addressee; the body in 三号 仿宋 with first-level
 * headings 一、二、三 in 黑体; tables; the signature block and date; the copy-to line; page numbers
 * "— 1 —". The caller supplies every string (from the catalogue); this module only lays them out.
 * `docx` is loaded when the first document is made, not at start: it is about 11 MB of memory that a
 * process which never writes a document does not need.
 */
import type { IRunOptions, Paragraph, Table, TableCell, TextRun } from 'docx';
import { chineseNumeral } from '../../domain/written-report.js';

type Docx = typeof import('docx');

export type DocLang = 'zh' | 'en';

export type DocBlock =
  | { kind: 'heading'; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'pairs'; rows: ReadonlyArray<readonly [string, string]> }
  | { kind: 'table'; columns: readonly string[]; rows: ReadonlyArray<readonly string[]>; widths?: readonly number[] };

export interface OfficialDocModel {
  lang: DocLang;
  /** 发文机关标志: the issuing authority, printed in red. */
  authority: string;
  /** 发文字号. */
  number: string;
  title: string;
  /** A line under the title saying which draft this is (omitted on a final copy). */
  status?: string;
  /** 主送机关. */
  recipient?: string;
  intro?: string;
  /** Body blocks in order; headings get 一、二、… prefixes from `numberedHeading`. */
  blocks: readonly DocBlock[];
  signature?: { unit: string; date: string };
  /** 抄送. */
  copyTo?: string;
  /** Metadata for the file's properties. */
  creator?: string;
}

// Sizes are half-points: 三号 16 pt = 32, 二号 22 pt = 44, 小初 36 pt = 72, 四号 14 pt = 28, 五号 10.5 pt = 21.
const SIZE_BODY = 32;
const SIZE_TITLE = 44;
const SIZE_AUTHORITY = 72;
// 五号 10.5 pt in tables, so that a date (2026年11月29日) fits its column on one line.
const SIZE_TABLE = 21;
/** The two-column facts table (基本情况) has room for 小四 12 pt. */
const SIZE_PAIRS = 24;
const RED = 'C00000';

const FONT_BODY = { eastAsia: '仿宋_GB2312', ascii: 'Times New Roman', hAnsi: 'Times New Roman' };
const FONT_TITLE = { eastAsia: '方正小标宋简体', ascii: 'Times New Roman', hAnsi: 'Times New Roman' };
const FONT_HEADING = { eastAsia: '黑体', ascii: 'Times New Roman', hAnsi: 'Times New Roman' };

const mm = (n: number) => Math.round((n * 1440) / 25.4);

/** `一、事件经过` in Chinese, `1. Course of events` in English. */
export function numberedHeading(n: number, text: string, lang: DocLang): string {
  return lang === 'zh' ? `${chineseNumeral(n)}、${text}` : `${n}. ${text}`;
}

function run(d: Docx, text: string, opts: Partial<IRunOptions> = {}): TextRun {
  return new d.TextRun({ text, font: FONT_BODY, size: SIZE_BODY, ...opts });
}

/** Body text: each line its own paragraph, first line indented two characters. */
function bodyParagraphs(d: Docx, text: string): Paragraph[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return (lines.length ? lines : ['']).map(
    (line) => new d.Paragraph({ indent: { firstLine: 640 }, spacing: { line: 560 }, alignment: d.AlignmentType.JUSTIFIED, children: [run(d, line.trim())] }),
  );
}

function cell(d: Docx, text: string, opts: { bold?: boolean; width?: number; size?: number } = {}): TableCell {
  return new d.TableCell({
    verticalAlign: d.VerticalAlign.CENTER,
    // A little air above and below the text, in twips.
    margins: { top: 40, bottom: 40, left: 70, right: 70 },
    ...(opts.width ? { width: { size: opts.width, type: d.WidthType.PERCENTAGE } } : {}),
    children: text
      .split(/\r?\n/)
      .map((line) => new d.Paragraph({ children: [run(d, line, { size: opts.size ?? SIZE_TABLE, ...(opts.bold ? { bold: true, font: FONT_HEADING } : {}) })] })),
  });
}

function table(d: Docx, columns: readonly string[], rows: ReadonlyArray<readonly string[]>, widths?: readonly number[]): Table {
  const w = (i: number) => (widths ? { width: widths[i]! } : {});
  return new d.Table({
    width: { size: 100, type: d.WidthType.PERCENTAGE },
    rows: [
      // The header row repeats on every page; no row is split across two.
      new d.TableRow({ tableHeader: true, cantSplit: true, children: columns.map((c, i) => cell(d, c, { bold: true, ...w(i) })) }),
      ...rows.map((r) => new d.TableRow({ cantSplit: true, children: r.map((c, i) => cell(d, c, w(i))) })),
    ],
  });
}

function pairs(d: Docx, rows: ReadonlyArray<readonly [string, string]>): Table {
  return new d.Table({
    width: { size: 100, type: d.WidthType.PERCENTAGE },
    rows: rows.map(([k, v]) => new d.TableRow({ cantSplit: true, children: [cell(d, k, { bold: true, width: 25, size: SIZE_PAIRS }), cell(d, v, { width: 75, size: SIZE_PAIRS })] })),
  });
}

const blank = (d: Docx) => new d.Paragraph({ children: [run(d, '')] });

/** Lays the model out and packs it into a .docx file. */
export async function renderOfficialDocument(model: OfficialDocModel): Promise<Buffer> {
  const d = await import('docx');
  const children: Array<Paragraph | Table> = [];
  children.push(
    new d.Paragraph({
      alignment: d.AlignmentType.CENTER,
      spacing: { before: 400, after: 200 },
      children: [new d.TextRun({ text: model.authority, font: FONT_TITLE, size: SIZE_AUTHORITY, color: RED })],
    }),
    // 发文字号, then the red separator line (版头分隔线).
    new d.Paragraph({
      alignment: d.AlignmentType.CENTER,
      border: { bottom: { style: d.BorderStyle.SINGLE, size: 18, color: RED, space: 8 } },
      spacing: { after: 400 },
      children: [run(d, model.number)],
    }),
    new d.Paragraph({
      alignment: d.AlignmentType.CENTER,
      spacing: { before: 200, after: model.status ? 120 : 400, line: 640 },
      children: [new d.TextRun({ text: model.title, font: FONT_TITLE, size: SIZE_TITLE })],
    }),
  );
  if (model.status) {
    children.push(new d.Paragraph({ alignment: d.AlignmentType.CENTER, spacing: { after: 300 }, children: [run(d, model.status, { size: 24, color: '7F7F7F', italics: true })] }));
  }
  if (model.recipient) children.push(new d.Paragraph({ spacing: { line: 560 }, children: [run(d, model.recipient)] }));
  if (model.intro) children.push(...bodyParagraphs(d, model.intro));

  for (const b of model.blocks) {
    switch (b.kind) {
      case 'heading':
        // A heading never stands alone at the foot of a page.
        children.push(new d.Paragraph({ keepNext: true, keepLines: true, indent: { firstLine: 640 }, spacing: { before: 120, line: 560 }, children: [new d.TextRun({ text: b.text, font: FONT_HEADING, size: SIZE_BODY })] }));
        break;
      case 'paragraph':
        children.push(...bodyParagraphs(d, b.text));
        break;
      case 'pairs':
        children.push(pairs(d, b.rows), blank(d));
        break;
      case 'table':
        children.push(table(d, b.columns, b.rows, b.widths), blank(d));
        break;
    }
  }

  if (model.signature) {
    children.push(
      blank(d),
      new d.Paragraph({ alignment: d.AlignmentType.RIGHT, indent: { right: 640 }, children: [run(d, model.signature.unit)] }),
      new d.Paragraph({ alignment: d.AlignmentType.RIGHT, indent: { right: 640 }, children: [run(d, model.signature.date)] }),
    );
  }
  if (model.copyTo) {
    // 版记: the copy-to line between two rules.
    children.push(
      blank(d),
      new d.Paragraph({
        border: { top: { style: d.BorderStyle.SINGLE, size: 6, color: '000000', space: 4 }, bottom: { style: d.BorderStyle.SINGLE, size: 6, color: '000000', space: 4 } },
        children: [run(d, model.copyTo, { size: 28 })],
      }),
    );
  }

  const doc = new d.Document({
    creator: model.creator ?? model.authority,
    title: model.title,
    styles: { default: { document: { run: { font: FONT_BODY, size: SIZE_BODY } } } },
    sections: [
      {
        properties: { page: { size: { width: 11906, height: 16838 }, margin: { top: mm(37), bottom: mm(35), left: mm(28), right: mm(26) } } },
        footers: {
          default: new d.Footer({
            children: [new d.Paragraph({ alignment: d.AlignmentType.CENTER, children: [new d.TextRun({ children: ['— ', d.PageNumber.CURRENT, ' —'], size: 28 })] })],
          }),
        },
        children,
      },
    ],
  });
  return d.Packer.toBuffer(doc);
}
