// canned-admin.js: the admins' "Canned replies" section: the library as
// a table (shortcut, title, languages) with Edit and Delete, and a form
// for a new or changed reply with its text in English and in Chinese.
// It is a section of the admin page (admin.js).

import * as api from './api.js';
import { t, setText, plainText, onLocale } from './i18n.js';
import { addSection } from './admin.js';
import { h } from './views.js';
import { reload as reloadComposer } from './canned.js';

function field(label, input) {
  label.htmlFor = input.id;
  return h('div', { class: 'canned-field' }, label, input);
}

let redrawTable = () => {};
onLocale(() => redrawTable());

// mount draws the section into root and loads the library.
function mount(root) {
  let editing = null; // the reply in the form, or null for a new one
  const status = h('p', { class: 'canned-status', role: 'status' });
  const table = h('table', { class: 'canned-table' });
  const shortcut = h('input', { id: 'canned-shortcut', name: 'shortcut', maxlength: '33', autocomplete: 'off', required: true });
  const title = h('input', { id: 'canned-title', name: 'title', maxlength: '191', required: true });
  const textEn = h('textarea', { id: 'canned-text-en', name: 'text-en', rows: '3', dataset: { lang: 'en' } });
  const textZh = h('textarea', { id: 'canned-text-zh-CN', name: 'text-zh-CN', rows: '3', dataset: { lang: 'zh-CN' } });
  const texts = [textEn, textZh];
  const labels = [h('label'), h('label'), h('label'), h('label')];
  setText(labels[0], 'cannedAdmin.shortcut');
  setText(labels[1], 'cannedAdmin.titleField');
  setText(labels[2], 'cannedAdmin.textEn');
  setText(labels[3], 'cannedAdmin.textZh');
  const heading = h('h3');
  const save = h('button', { type: 'submit', class: 'primary' });
  setText(save, 'cannedAdmin.save');
  const cancel = h('button', { type: 'button', class: 'link' });
  setText(cancel, 'cannedAdmin.cancel');
  const hint = h('p', { class: 'muted canned-placeholders' });
  setText(hint, 'cannedAdmin.placeholders');
  const form = h('form', { class: 'canned-form' }, heading,
    field(labels[0], shortcut), field(labels[1], title), field(labels[2], textEn), field(labels[3], textZh),
    hint, h('div', { class: 'canned-actions' }, save, cancel));

  const edit = (r) => {
    editing = r;
    if (r) setText(heading, 'cannedAdmin.edit');
    else setText(heading, 'cannedAdmin.new');
    shortcut.value = r ? r.shortcut : '';
    title.value = r ? r.title : '';
    texts.forEach((ta) => { ta.value = (r && r.texts[ta.dataset.lang]) || ''; });
    cancel.hidden = !r;
  };

  // The table is drawn from data with t(); a switch of language draws it
  // again (onLocale above).
  const draw = (list) => {
    const head = h('tr', {},
      h('th', { scope: 'col', text: t('cannedAdmin.shortcut') }),
      h('th', { scope: 'col', text: t('cannedAdmin.titleField') }),
      h('th', { scope: 'col', text: t('cannedAdmin.languages') }),
      h('th', { scope: 'col', text: t('cannedAdmin.actions') }));
    const rows = list.map((r) => h('tr', { dataset: { shortcut: r.shortcut } },
      h('td', { class: 'canned-shortcut', text: '/' + r.shortcut }),
      h('td', { text: r.title }),
      h('td', { text: Object.keys(r.texts).sort().join(', ') }),
      h('td', {},
        h('button', { type: 'button', class: 'link canned-edit', text: t('cannedAdmin.editButton'), onclick: () => edit(r) }),
        h('button', { type: 'button', class: 'link danger canned-delete', text: t('cannedAdmin.delete'), onclick: () => remove(r) }))));
    if (!list.length) rows.push(h('tr', {}, h('td', { colspan: '4', class: 'muted', text: t('cannedAdmin.empty') })));
    table.replaceChildren(h('thead', {}, head), h('tbody', {}, ...rows));
  };

  const load = async () => {
    try {
      draw(await api.cannedReplies());
    } catch (e) {
      setText(status, 'cannedAdmin.loadFailed', { error: e.message });
    }
  };

  const remove = async (r) => {
    try {
      await api.deleteCanned(r.id);
      if (editing && editing.id === r.id) edit(null);
      setText(status, 'cannedAdmin.deleted', { shortcut: r.shortcut });
      await load();
      reloadComposer();
    } catch (e) {
      setText(status, 'cannedAdmin.saveFailed', { error: e.message });
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { id: editing?.id, shortcut: shortcut.value, title: title.value, texts: {} };
    texts.forEach((ta) => { if (ta.value.trim()) body.texts[ta.dataset.lang] = ta.value; });
    save.disabled = true;
    try {
      const saved = await api.saveCanned(body);
      edit(null);
      setText(status, 'cannedAdmin.saved', { shortcut: saved.shortcut });
      await load();
      reloadComposer();
    } catch (e) {
      setText(status, 'cannedAdmin.saveFailed', { error: e.message });
    } finally {
      save.disabled = false;
    }
  });
  cancel.addEventListener('click', () => { edit(null); plainText(status, ''); });

  root.replaceChildren(table, form, status);
  edit(null);
  load();
  redrawTable = () => { if (root.isConnected) load(); };
}

// The admins' page shows the library as a section of its own.
addSection({ id: 'canned', title: () => t('cannedAdmin.title'), render: mount });
