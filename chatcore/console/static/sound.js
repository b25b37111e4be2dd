// sound.js: a short two-tone chime made with the WebAudio API. Browsers
// start audio only after a user gesture, so unlock() is called on the
// first click or key press.

let ctx = null;
let last = 0;

export function unlock() {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return;
  if (!ctx) ctx = new AC();
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
}

// chime plays at most once every two seconds.
export function chime() {
  if (!ctx || ctx.state !== 'running') return;
  const now = Date.now();
  if (now - last < 2000) return;
  last = now;
  const t = ctx.currentTime;
  const gain = ctx.createGain();
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.15, t + 0.015);
  gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
  gain.connect(ctx.destination);
  const osc = ctx.createOscillator();
  osc.type = 'sine';
  osc.frequency.setValueAtTime(880, t);
  osc.frequency.setValueAtTime(1318.5, t + 0.1);
  osc.connect(gain);
  osc.start(t);
  osc.stop(t + 0.4);
  osc.onended = () => gain.disconnect();
}
