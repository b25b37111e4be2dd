// i18n.js: the console's texts and formats in English and Simplified
// Chinese. Every text the console shows comes from locales/<locale>.json
// through t(key, vars); no module but this one holds a text (doc.go says
// how to add one). The catalog of the chosen locale is loaded before any
// importer runs (top-level await), so t() is synchronous everywhere.

import { store } from './state.js';

export const LOCALES = ['en', 'zh-CN'];
const STORE_KEY = 'syncd.lang';

const catalogs = new Map(); // locale → { key: text }
const listeners = new Set();
let current = 'en';
let fmt = formatters('en');
let fmtLocale = 'en';

// pickLocale is the saved choice if there is one, else the first browser
// language the console has (any zh is Simplified Chinese), else English.
export function pickLocale(saved, languages) {
  if (LOCALES.includes(saved)) return saved;
  for (const l of languages || []) {
    const low = String(l).toLowerCase();
    if (low === 'zh' || low.startsWith('zh-')) return 'zh-CN';
    if (low === 'en' || low.startsWith('en-')) return 'en';
  }
  return 'en';
}

export function locale() {
  return current;
}

// formatLocale is the locale dates and numbers are formatted in: the
// browser's own where it speaks the chosen language (en-GB writes 14:05,
// en-US 02:05 PM), else the chosen language. Simplified Chinese keeps to
// a Simplified region.
export function formatLocale() {
  return fmtLocale;
}

function regional(loc) {
  const lang = loc.split('-')[0];
  const simplified = (c) => /^zh(-hans)?(-(cn|sg))?$|^zh-hans(-|$)/i.test(c);
  const candidates = [new Intl.DateTimeFormat().resolvedOptions().locale, ...(navigator.languages || [])];
  for (const c of candidates) {
    if (!c || c.split('-')[0].toLowerCase() !== lang) continue;
    if (lang === 'zh' && !simplified(c)) continue;
    try {
      return Intl.getCanonicalLocales(c)[0];
    } catch { /* not a locale tag */ }
  }
  return loc;
}

// t is the text of key in the current locale with {name} placeholders
// filled from vars. A key the catalog lacks shows as itself (the Go tests
// keep that from shipping).
export function t(key, vars) {
  const s = catalogs.get(current)?.[key];
  if (typeof s !== 'string') return key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (Object.hasOwn(vars, name) ? String(vars[name]) : m));
}

// setText gives el the text of key and remembers the key, so that a
// switch of language translates el again.
export function setText(el, key, vars) {
  el.dataset.i18n = key;
  setVars(el, vars);
  el.textContent = t(key, vars);
}

// plainText gives el a text that is no key (a name, a server's message,
// or nothing), so that a switch of language leaves it alone.
export function plainText(el, text) {
  delete el.dataset.i18n;
  delete el.dataset.i18nVars;
  el.textContent = text;
}

// setAttrText does the same for an attribute: placeholder, aria-label or
// title.
export function setAttrText(el, attr, key, vars) {
  el.dataset[ATTRS[attr]] = key;
  setVars(el, vars);
  el.setAttribute(attr, t(key, vars));
}

// clearAttrText removes the attribute and its key.
export function clearAttrText(el, attr) {
  delete el.dataset[ATTRS[attr]];
  el.removeAttribute(attr);
}

const ATTRS = { placeholder: 'i18nPlaceholder', 'aria-label': 'i18nAriaLabel', title: 'i18nTitle' };

function setVars(el, vars) {
  if (vars) el.dataset.i18nVars = JSON.stringify(vars);
  else delete el.dataset.i18nVars;
}

// translate applies the current locale to every element under root that
// names a key: data-i18n (text), data-i18n-placeholder, -aria-label, -title.
export function translate(root = document) {
  const vars = (el) => {
    try {
      return el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : undefined;
    } catch {
      return undefined;
    }
  };
  // root itself and what is under it
  const all = (sel) => [...(root.matches?.(sel) ? [root] : []), ...root.querySelectorAll(sel)];
  for (const el of all('[data-i18n]')) el.textContent = t(el.dataset.i18n, vars(el));
  for (const [attr, prop] of Object.entries(ATTRS)) {
    const sel = '[data-' + prop.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()) + ']';
    for (const el of all(sel)) el.setAttribute(attr, t(el.dataset[prop], vars(el)));
  }
  if (root === document) document.documentElement.lang = current;
}

// onLocale calls fn after every switch of language (views redraw).
export function onLocale(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// setLocale loads loc's catalog, keeps the choice and redraws the page.
// Only a choice the agent made is kept: the browser's language may change.
export async function setLocale(loc, { keep = true } = {}) {
  if (!LOCALES.includes(loc)) return;
  await load(loc);
  current = loc;
  fmtLocale = regional(loc);
  fmt = formatters(fmtLocale);
  if (keep) store.set(STORE_KEY, loc);
  translate(document);
  for (const fn of listeners) fn(loc);
}

async function load(loc) {
  if (catalogs.has(loc)) return;
  const res = await fetch(new URL(`./locales/${loc}.json`, import.meta.url), { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`locales/${loc}.json: ${res.status}`);
  catalogs.set(loc, await res.json());
}

function formatters(loc) {
  const unit = (u) => new Intl.NumberFormat(loc, { style: 'unit', unit: u, unitDisplay: 'short', maximumFractionDigits: 0 });
  return {
    time: new Intl.DateTimeFormat(loc, { hour: '2-digit', minute: '2-digit' }),
    dateTime: new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeStyle: 'short' }),
    number: new Intl.NumberFormat(loc),
    units: { second: unit('second'), minute: unit('minute'), hour: unit('hour'), day: unit('day') },
  };
}

// The formatters of the current locale.
export const formatTime = (d) => fmt.time.format(d);
export const formatDateTime = (d) => fmt.dateTime.format(d);
export const formatNumber = (n) => fmt.number.format(n);
// formatPercent says a fraction as a percentage with digits decimals.
export const formatPercent = (x, digits = 1) =>
  new Intl.NumberFormat(fmtLocale, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x);
// formatUnit says n seconds, minutes, hours or days: "5 min", "5分钟".
export const formatUnit = (n, unit) => fmt.units[unit].format(n);

// The first catalog loads before any importer runs; without it the page
// still works, showing keys.
try {
  await setLocale(pickLocale(store.get(STORE_KEY), navigator.languages || [navigator.language]), { keep: false });
} catch (e) {
  console.error('i18n: ' + e.message);
}
