/** Catalogue section: sandbox. zh first; en must have the same keys. */
const zh = {};

const en: Record<keyof typeof zh, string> = {};

export const sandbox = { zh, en };
