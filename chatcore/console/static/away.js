// away.js: the top bar's "Away" toggle. While away, auto-assignment gives
// the agent no conversations; the server keeps it (POST /api/me/away), so
// every tab and instance knows.

import * as api from './api.js';
import { setText, setAttrText } from './i18n.js';
import { $ } from './state.js';

let away = false;

function render() {
  const btn = $('away-toggle');
  btn.setAttribute('aria-pressed', String(away));
  btn.classList.toggle('on', away);
  setText(btn, away ? 'top.awayOn' : 'top.awayOff');
  setAttrText(btn, 'title', 'top.awayHint');
}

// initAway shows the agent's state (GET /api/me's away) and wires the
// toggle once.
export function initAway(isAway) {
  away = !!isAway;
  const btn = $('away-toggle');
  btn.hidden = false;
  render();
  if (btn.dataset.wired) return;
  btn.dataset.wired = '1';
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const res = await api.setAway(!away);
      away = !!res.away;
      render();
    } catch (e) {
      console.error('away: ' + e.message);
    } finally {
      btn.disabled = false;
    }
  });
}
