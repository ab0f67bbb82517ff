// Demo Trust Center: small DOM helpers of the wizard (no framework).

export const $ = (sel) => document.querySelector(sel);
const STEPS = ['connect', 'token', 'generate', 'ca', 'install', 'done'];

export function el(tag, attrs = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'class')
			e.className = v;
		else if (k === 'dataset')
			Object.assign(e.dataset, v);
		else if (k.startsWith('on'))
			e.addEventListener(k.slice(2), v);
		else
			e.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children.flat())
		if (c !== null && c !== undefined && c !== false)
			e.append(c instanceof Node ? c : document.createTextNode(String(c)));
	return e;
}

export function showStep(name) {
	const idx = STEPS.indexOf(name);
	for (const li of document.querySelectorAll('#steps li')) {
		const i = STEPS.indexOf(li.dataset.step);
		li.classList.toggle('current', i === idx);
		li.classList.toggle('complete', i < idx);
		if (i === idx) {
			li.setAttribute('aria-current', 'step');
			// Narrow: the steps are one scrolling line; keep this one in it.
			li.parentElement.scrollLeft = Math.max(0, li.offsetLeft - li.parentElement.offsetLeft - 8);
		} else {
			li.removeAttribute('aria-current');
		}
	}
	for (const s of document.querySelectorAll('.step'))
		s.hidden = s.dataset.step !== name;
	document.body.dataset.step = name;
	const h = $(`#step-${name} h1`);
	if (h) {
		h.tabIndex = -1;
		h.focus({ preventScroll: true });
	}
}

/** Show a callout: {kind: waiting|warning|error|success|info, title, text, list, actions, id} */
export function setStatus(box, s) {
	box.replaceChildren();
	if (!s) {
		box.hidden = true;
		delete box.dataset.kind;
		delete box.dataset.reason;
		return;
	}
	box.hidden = false;
	box.dataset.kind = s.kind;
	if (s.reason)
		box.dataset.reason = s.reason;
	else
		delete box.dataset.reason;
	const icon = { warning: '!', error: '!', success: '✓', info: 'i' }[s.kind] ?? '';
	const body = el('div', { class: 'status-body' },
		el('div', { class: 'title' }, s.title, s.clock ? el('span', { class: 'clock', 'aria-hidden': 'true' }) : null),
		s.text ? el('p', {}, s.text) : null,
		s.list ? el('ol', {}, s.list.map((x) => el('li', {}, x))) : null,
		s.hint ? el('p', { class: 'hint' }, s.hint) : null,
		s.actions?.length ? el('div', { class: 'status-actions' }, s.actions.map(action)) : null);
	box.append(el('span', { class: 'icon', 'aria-hidden': 'true' }, icon), body);
	box.setAttribute('role', s.kind === 'error' || s.kind === 'warning' ? 'alert' : 'status');
}

/** A callout's action: a button, or a link (href) the browser opens itself. */
function action(a) {
	if (a.href)
		return el('a', { class: 'link-button', href: a.href, id: a.id, onclick: a.onClick }, a.label);
	return el('button', { type: 'button', class: a.primary ? 'primary' : 'secondary', id: a.id, onclick: a.onClick }, a.label);
}

/** m:ss */
export function clockText(ms) {
	const s = Math.max(0, Math.floor(ms / 1000));
	return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function busy(button, on) {
	button.disabled = on;
	button.classList.toggle('busy', on);
	button.setAttribute('aria-busy', on ? 'true' : 'false');
}

export function download(name, text, type) {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = el('a', { href: url, download: name });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** "emailAddress=a@b,CN=Joe Doe,C=PL" -> {CN: 'Joe Doe', emailAddress: 'a@b', C: 'PL'} */
export function parseDN(dn) {
	const out = {};
	for (const part of String(dn || '').split(/,(?=\s*[A-Za-z0-9.]+=)/)) {
		const i = part.indexOf('=');
		if (i > 0)
			out[part.slice(0, i).trim()] = part.slice(i + 1).trim().replace(/\\(.)/g, '$1');
	}
	return out;
}

/** A certificate name for people: the common name in bold, the rest below. */
export function nameCell(dn, extra) {
	const f = parseDN(dn);
	const main = f.CN || f.O || dn;
	const rest = [f.emailAddress, f.O && f.O !== main ? f.O : null, f.C].filter(Boolean).join(' · ');
	return el('td', {}, el('div', { class: 'dn-main' }, main), rest ? el('div', { class: 'dn-rest' }, rest) : null, extra || null);
}

export const shortName = (dn) => { const f = parseDN(dn); return f.CN || f.O || dn; };
export const isCA = (c) => c.subject === c.issuer;
