// Settings: the gateway key this browser checks proofs against (pinned by the operator,
// never taken from a proof), and the session.
import { el, setText } from '../lib/dom.js';
import { pinnedKey, pinKey } from '../session.js';

export function mount(ctx, box) {
  const msg = el('div', { class: 'msg', role: 'status', id: 'pin-msg' });
  const input = el('input', { name: 'key', id: 'pin-key', class: 'mono', placeholder: '64 hex digits', value: pinnedKey() ?? '', 'aria-label': 'gateway public key', autocomplete: 'off' });
  const form = el('form', { id: 'pin-form', class: 'submit' },
    el('h3', {}, 'Gateway key for proof checks'),
    el('p', { class: 'muted' }, 'Receipt inclusion proofs are verified in this browser against this key, not against the key a proof names. Take it from the gateway\'s machine: ',
      el('code', {}, 'cat .data/mesh/gateway.pub'), ' (swarmlet up) or ', el('code', {}, 'swarmlet keys show gw.key'), '. The login link swarmlet up prints pins it for you.'),
    el('label', {}, 'gateway public key', input),
    el('button', { type: 'submit' }, 'Pin'), msg);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    try {
      const k = pinKey(input.value);
      setText(msg, k ? `pinned ${k.slice(0, 16)}…` : 'no key pinned: proofs will not verify');
    } catch (e) {
      setText(msg, e.message);
    }
  });
  const s = ctx.session;
  const hello = ctx.live.state.hello;
  box.append(el('h2', {}, 'Settings'), form,
    el('section', { class: 'panel' }, el('h3', {}, 'Session'),
      el('p', {}, s.authenticated ? `Logged in as ${s.name} (${s.role}).` : 'Reading without logging in (public reads).'),
      el('p', { class: 'muted' }, `Gateway node id ${hello?.gatewayId ?? '–'} (the node id is a hash of its key; it is not the key).`)));
  return { unmount() {} };
}
