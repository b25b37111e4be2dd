// Package console serves the agents' web console: a few static ES modules,
// one HTML page, a style sheet and the text catalogs, embedded in the
// binary with go:embed so that every syncd instance serves the same
// console with no build step.
//
// The console talks to the instance only through the HTTP API and the
// WebSocket described in docs/protocol.md; this package holds no logic of
// its own beyond serving the files with cache and security headers.
// Mount it at the root of the console's address:
//
//	mux.Handle("/", console.Handler())
//
// # Texts: English and Simplified Chinese
//
// Every text the console shows is in static/locales/en.json and
// static/locales/zh-CN.json, under the same key; no module holds a text of
// its own. The language is the agent's choice (the switch in the top bar,
// kept in localStorage) or else the browser's (any zh is zh-CN, anything
// else English). To add a text:
//
//   - add a key, "area.what" in lowerCamelCase parts (e.g.
//     "conv.takeOver"), to both catalogs, keeping them sorted by key (one
//     key a line, indented by two spaces, so that additions merge);
//     placeholders are {name}, and both catalogs use the same ones;
//   - in a module, import { t } from './i18n.js' and write t('conv.takeOver')
//     or t('list.waiting', { duration }) with the key as a literal (the
//     tests find keys that way; no key built at run time);
//   - for an element that keeps its text, use setText(el, key, vars) or
//     setAttrText(el, 'placeholder'|'aria-label'|'title', key, vars), which
//     remember the key so that a switch of language translates it again;
//     plainText(el, s) sets a text that is no key (a name, a server error);
//   - in index.html, give the element data-i18n="key" (its text) or
//     data-i18n-placeholder / data-i18n-aria-label / data-i18n-title; the
//     English text stays in the HTML only as what shows before the script;
//   - dates, numbers and durations go through i18n.js's formatters
//     (formatTime, formatDateTime, formatNumber, formatPercent, formatUnit),
//     never through Intl or toLocaleString with a locale of their own.
//
// What views draw from data (the list, the open conversation) is drawn
// again on a switch: a module with such a view registers with onLocale.
// The tests in this package fail on a key missing from a catalog, a key
// or placeholder one catalog has and the other lacks, an unused key, an
// unsorted catalog, and a literal text set from a module or left in
// index.html without its key.
package console
