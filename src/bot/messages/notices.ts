/** Catalogue section: notices. zh first; en must have the same keys. */
const zh = {};

const en: Record<keyof typeof zh, string> = {};

export const notices = { zh, en };
