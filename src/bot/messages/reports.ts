/** Catalogue section: reports. zh first; en must have the same keys. */
const zh = {};

const en: Record<keyof typeof zh, string> = {};

export const reports = { zh, en };
