// composer.js: what the reply box does before pane.js sends: each check
// in beforeSend (key, body) may answer 'block' (nothing is sent, the text
// stays) or 'handled' (sent another way: the box is emptied), or nothing.
// canned.js blocks a reply with an unfilled placeholder; notes.js sends a
// private note instead of a reply.

export const beforeSend = [];

// check runs the checks in order; the first answer wins.
export function check(key, body) {
  for (const fn of beforeSend) {
    const r = fn(key, body);
    if (r) return r;
  }
  return '';
}

// afterSend is told that the box was emptied by a send (typing.js stops).
export const afterSend = [];

export function sent(key) {
  for (const fn of afterSend) fn(key);
}
