// A message's text as DOM nodes: links (http and https only), `inline code`, ```code blocks```,
// *emphasis*, **strong**, and @mentions, with line breaks kept by CSS (white-space: pre-wrap).
// Every piece of the text goes in through text nodes: markup in a message is never parsed as
// HTML, so nesting or odd characters can only ever show as text. Pure: any caller.
'use strict';

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;
const MENTION_PATTERN = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{1,32})/g;
// Trailing punctuation a sentence puts after a link is not part of it.
const LINK_TAIL = /[.,;:!?)\]}]+$/;

function text(value) {
  return document.createTextNode(value);
}

function wrap(tag, children, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children);
  return node;
}

// A link when `candidate` parses as an http(s) URL, else null (the text stays text).
function link(candidate) {
  let url;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const anchor = document.createElement('a');
  anchor.href = url.href;
  anchor.rel = 'noopener noreferrer';
  anchor.target = '_blank';
  anchor.textContent = candidate;
  return anchor;
}

// Links and mentions in plain text; `me` gets class "me" (its line is highlighted).
function inlineText(value, me) {
  const nodes = [];
  let at = 0;
  for (const match of value.matchAll(URL_PATTERN)) {
    const url = match[0].replace(LINK_TAIL, '');
    nodes.push(...mentions(value.slice(at, match.index), me));
    const anchor = link(url);
    nodes.push(anchor || text(url));
    at = match.index + url.length;
  }
  nodes.push(...mentions(value.slice(at), me));
  return nodes;
}

function mentions(value, me) {
  const nodes = [];
  let at = 0;
  for (const match of value.matchAll(MENTION_PATTERN)) {
    const start = match.index + match[1].length;
    nodes.push(text(value.slice(at, start)));
    const mention = wrap('span', [text(`@${match[2]}`)], match[2] === me ? 'mention me' : 'mention');
    nodes.push(mention);
    at = start + 1 + match[2].length;
  }
  if (at < value.length) nodes.push(text(value.slice(at)));
  return nodes.filter((node) => node.nodeType !== Node.TEXT_NODE || node.data !== '');
}

// Emphasis and strong: `**x**`, `*x*`, `_x_` on one line, not around spaces.
const EMPHASIS = /(\*\*)(?=\S)([^*\n]*?\S)\*\*|(\*)(?=\S)([^*\n]*?\S)\*|(^|\W)_(?=\S)([^_\n]*?\S)_(?=\W|$)/g;

function emphasised(value, me) {
  const nodes = [];
  let at = 0;
  for (const match of value.matchAll(EMPHASIS)) {
    let start = match.index;
    let node;
    if (match[1]) {
      node = wrap('strong', inlineText(match[2], me));
    } else if (match[3]) {
      node = wrap('em', inlineText(match[4], me));
    } else {
      start += match[5].length;
      node = wrap('em', inlineText(match[6], me));
    }
    // A URL holding a '*' or '_' is not emphasis: leave the whole stretch to inlineText.
    if (/https?:\/\/\S*$/i.test(value.slice(at, start))) continue;
    nodes.push(...inlineText(value.slice(at, start), me), node);
    at = match.index + match[0].length;
  }
  nodes.push(...inlineText(value.slice(at), me));
  return nodes;
}

// Inline code spans first (nothing inside them is formatted), then the rest.
function inline(value, me) {
  const nodes = [];
  const parts = value.split(/(`[^`\n]+`)/);
  for (const part of parts) {
    if (part.length > 2 && part.startsWith('`') && part.endsWith('`')) {
      nodes.push(wrap('code', [text(part.slice(1, -1))]));
    } else if (part) {
      nodes.push(...emphasised(part, me));
    }
  }
  return nodes;
}

// The nodes for `value`, a message's text; `me` is the reader's name (for mentions).
export function formatText(value, me) {
  const nodes = [];
  const blocks = value.split(/```/);
  // Odd pieces sit between fences: code blocks (an unclosed fence stays text).
  blocks.forEach((block, index) => {
    const isCode = index % 2 === 1 && index < blocks.length - 1;
    if (isCode) {
      const code = block.replace(/^[^\n]*\n/, (first) => (first.trim() === '' ? '' : first));
      nodes.push(wrap('pre', [wrap('code', [text(code.replace(/\n$/, ''))])]));
    } else {
      const source = index % 2 === 1 ? `\`\`\`${block}` : block;
      nodes.push(...inline(source, me));
    }
  });
  return nodes;
}

// Whether `value` mentions `me` (outside code).
export function mentionsMe(value, me) {
  const outsideCode = value.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]+`/g, '');
  for (const match of outsideCode.matchAll(MENTION_PATTERN)) {
    if (match[2] === me) return true;
  }
  return false;
}
