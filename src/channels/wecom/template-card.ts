/**
 * The template cards (`msgtype: template_card`) this product sends, as WeCom's JSON, and their limits.
 * The three interactive kinds call back (template_card_event) and can be redrawn with a response_code:
 * - button_interaction: up to 6 buttons, each with a key that comes back as EventKey;
 * - vote_interaction: one question (`checkbox`), 1–20 options, single or multiple choice, a submit button;
 * - multiple_interaction: 1–3 drop-down questions (`select_list`) of 1–10 options each, a submit button.
 * text_notice is the plain card (no callback unless it has an action_menu). Every interactive card needs
 * a `task_id` unique within the application: digits, letters and `_-@`, at most 128 bytes.
 */

export const WECOM_CARD_LIMITS = {
  buttonsPerCard: 6,
  voteOptions: 20,
  selectQuestions: 3,
  selectOptions: 10,
  horizontalContent: 6,
  jumpList: 3,
  taskIdBytes: 128,
  keyBytes: 1024,
  optionIdBytes: 128,
  /** Text and markdown content, bytes (WeCom cuts what is longer). */
  contentBytes: 2048,
} as const;

/** The characters a task_id may have. */
export const TASK_ID_PATTERN = /^[0-9A-Za-z_\-@]{1,128}$/;

export interface CardSource {
  icon_url?: string;
  desc?: string;
  /** 0 grey, 1 black, 2 red, 3 green. */
  desc_color?: 0 | 1 | 2 | 3;
}

export interface CardMainTitle {
  title?: string;
  desc?: string;
}

export interface CardHorizontalContent {
  /** 0 text, 1 url, 2 attachment (media_id), 3 member (userid). */
  type?: 0 | 1 | 2 | 3;
  keyname: string;
  value?: string;
  url?: string;
  media_id?: string;
  userid?: string;
}

export interface CardAction {
  /** 1 url, 2 mini program. */
  type: 1 | 2;
  url?: string;
  appid?: string;
  pagepath?: string;
}

export interface CardEmphasis {
  title?: string;
  desc?: string;
}

export interface CardQuoteArea {
  type?: 0 | 1 | 2;
  url?: string;
  title?: string;
  quote_text?: string;
}

interface CardCommon {
  source?: CardSource;
  main_title?: CardMainTitle;
  quote_area?: CardQuoteArea;
  sub_title_text?: string;
  horizontal_content_list?: CardHorizontalContent[];
  card_action?: CardAction;
  task_id?: string;
}

export interface CardButton {
  /** 0 (or absent): a callback with `key`; 1: opens `url`. */
  type?: 0 | 1;
  text: string;
  /** 1–4. */
  style?: 1 | 2 | 3 | 4;
  key?: string;
  url?: string;
}

export interface TextNoticeCard extends CardCommon {
  card_type: 'text_notice';
  emphasis_content?: CardEmphasis;
}

export interface ButtonInteractionCard extends CardCommon {
  card_type: 'button_interaction';
  task_id: string;
  main_title: CardMainTitle;
  button_list: CardButton[];
  /** Shown instead of the buttons once the card is redrawn with it. */
  replace_text?: string;
}

export interface CardOption {
  id: string;
  text: string;
}

export interface VoteInteractionCard extends CardCommon {
  card_type: 'vote_interaction';
  task_id: string;
  main_title: CardMainTitle;
  checkbox: {
    question_key: string;
    option_list: Array<CardOption & { is_checked?: boolean }>;
    /** 0 single choice (default), 1 multiple choice. */
    mode?: 0 | 1;
  };
  submit_button: { text?: string; key: string };
  replace_text?: string;
}

export interface MultipleInteractionCard extends CardCommon {
  card_type: 'multiple_interaction';
  task_id: string;
  main_title: CardMainTitle;
  select_list: Array<{ question_key: string; title?: string; selected_id?: string; option_list: CardOption[] }>;
  submit_button: { text?: string; key: string };
  replace_text?: string;
}

export type TemplateCard = TextNoticeCard | ButtonInteractionCard | VoteInteractionCard | MultipleInteractionCard;

export type InteractiveCard = ButtonInteractionCard | VoteInteractionCard | MultipleInteractionCard;

/** How update_template_card redraws: a whole new card, or the same card with its buttons disabled and relabelled. */
export type TemplateCardUpdate = { card: TemplateCard } | { replaceName: string };

export const isInteractive = (card: TemplateCard): card is InteractiveCard => card.card_type !== 'text_notice';
