/**
 * WeCom's configuration: on when WECOM_CORP_ID is set, and then the agent id, the secret, the Token and
 * the EncodingAESKey are required; WECOM_API_ROOT defaults to WeCom's public root. Telegram alone,
 * WeCom alone and both parse. A refusal names the variables, never their values.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, CONFIG_VARIABLES, parseConfig, runsSandbox } from '../../src/config.js';

const WECOM = {
  WECOM_CORP_ID: 'ww0standin00000001',
  WECOM_AGENT_ID: '1000002',
  WECOM_SECRET: 'standin-application-secret',
  WECOM_TOKEN: 'standinCallbackToken',
  WECOM_AES_KEY: 'c3RhbmRpbi1lbmNvZGluZy1hZXMta2V5LTMyYnl0ZXM',
};
const TELEGRAM = { BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ' };

function refusal(env: Record<string, string>): ConfigError {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('WeCom configuration', () => {
  it('WeCom alone is a deployment, not the sandbox; with no channel at all `npm start` is the sandbox', () => {
    expect(runsSandbox(parseConfig(WECOM), 'all')).toBe(false);
    expect(runsSandbox(parseConfig(TELEGRAM), 'all')).toBe(false);
    expect(runsSandbox(parseConfig({}), 'all')).toBe(true);
    expect(runsSandbox(parseConfig({}), 'worker')).toBe(false);
  });

  it('is off without WECOM_CORP_ID: Telegram alone', () => {
    const c = parseConfig(TELEGRAM);
    expect(c.wecom).toBeUndefined();
    expect(c.botToken).toBe(TELEGRAM.BOT_TOKEN);
  });

  it('WeCom alone, with the public API root by default', () => {
    const c = parseConfig(WECOM);
    expect(c.botToken).toBeUndefined();
    expect(c.wecom).toEqual({
      corpId: WECOM.WECOM_CORP_ID,
      agentId: 1000002,
      secret: WECOM.WECOM_SECRET,
      token: WECOM.WECOM_TOKEN,
      aesKey: WECOM.WECOM_AES_KEY,
      apiRoot: 'https://qyapi.weixin.qq.com',
    });
  });

  it('both together, with a private deployment’s root (政务微信)', () => {
    const c = parseConfig({ ...TELEGRAM, ...WECOM, WECOM_API_ROOT: 'https://zwwx.example.gov.cn' });
    expect(c.botToken).toBeDefined();
    expect(c.wecom?.apiRoot).toBe('https://zwwx.example.gov.cn');
  });

  it('once on, requires the rest, naming each missing variable', () => {
    const e = refusal({ WECOM_CORP_ID: WECOM.WECOM_CORP_ID });
    expect(e.problems.map((p) => p.variable).sort()).toEqual(['WECOM_AES_KEY', 'WECOM_AGENT_ID', 'WECOM_SECRET', 'WECOM_TOKEN']);
  });

  it('refuses a malformed value without repeating it', () => {
    const secret = 'short';
    const e = refusal({ ...WECOM, WECOM_SECRET: secret, WECOM_AES_KEY: 'not-43-characters', WECOM_AGENT_ID: 'abc' });
    expect(e.problems.map((p) => p.variable).sort()).toEqual(['WECOM_AES_KEY', 'WECOM_AGENT_ID', 'WECOM_SECRET']);
    expect(e.message).not.toContain(secret);
    expect(e.message).not.toContain('not-43-characters');
  });

  it('every WeCom variable is one the schema knows', () => {
    for (const v of [...Object.keys(WECOM), 'WECOM_API_ROOT']) expect(CONFIG_VARIABLES).toContain(v);
  });
});
