// Demo Trust Center, "My card": the state of a card's PINs, and buttons to
// change or unblock them and to delete keys and certificates, on the
// cardbridge client library only (served at ./lib/ from clients/js/).
// Every PIN, PUK and confirmation is typed in cardbridge's own dialogs;
// this page only asks and shows the answer.  What a token allows comes from
// tokens.list's `manage` (doc/PROTOCOL.md, "Card management"): a button it
// rules out stays disabled and says why.
import { connect, CardbridgeError } from './lib/cardbridge.js';

const $ = (sel) => document.querySelector(sel);
let client = null;
let refreshes = 0;

/** h('td', {class: 'x', data: {op: 'y'}, onclick: f, title: 't'}, children...) */
function h(tag, props, ...children) {
	const node = document.createElement(tag);
	for (const [key, value] of Object.entries(props || {})) {
		if (value === null || value === undefined || value === false)
			continue;
		if (key === 'data')
			Object.assign(node.dataset, value);
		else if (key === 'onclick')
			node.addEventListener('click', value);
		else if (key === 'class')
			node.className = value;
		else
			node.setAttribute(key, value === true ? '' : value);
	}
	node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false)
		.map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
	return node;
}

/** The callout under the buttons: kind waiting|success|warning|error. */
function say(kind, title, text, reason) {
	const box = $('#status');
	box.hidden = false;
	box.dataset.kind = kind;
	box.dataset.reason = reason || '';
	box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
	box.replaceChildren(h('span', { class: 'icon', 'aria-hidden': 'true' },
		{ success: '✓', warning: '!', error: '!' }[kind] || ''),
	h('div', { class: 'status-body' }, h('div', { class: 'title' }, title), text ? h('p', {}, text) : null));
}

function pill(state, text) {
	$('#helper-pill').dataset.state = state;
	$('#helper-pill-text').textContent = text;
}

const PIN_STATE = {
	ok: ['OK', 'ok'], countLow: ['few tries left', 'warn'], finalTry: ['last try', 'warn'],
	locked: ['locked', 'err'], unknown: ['state not reported', 'neutral'],
};

/** What went wrong, in the user's words; the helper's message says the rest. */
function failure(err) {
	const reason = err instanceof CardbridgeError ? err.reason : 'UNKNOWN';
	const words = {
		USER_CANCELLED: ['Cancelled', 'Nothing was changed on your card.'],
		PIN_INCORRECT: ['Wrong PIN or PUK', Number.isInteger(err.retriesLeft)
			? `${err.retriesLeft} tries left before it is blocked.` : 'Careful: it is blocked after a few wrong tries.'],
		PIN_LOCKED: ['Blocked', 'Unblock your PIN first (Unblock PIN).'],
		PIN_INVALID: ['The card does not take that PIN', 'It has the wrong length or characters.'],
		NOT_SUPPORTED: ['Your card cannot do this', null],
		KEY_NOT_FOUND: ['Not on the card', 'It may have been deleted already.'],
		TOKEN_NOT_PRESENT: ['Your card is not in the reader', 'Insert it and try again.'],
		CARD_REMOVED: ['Your card was removed', 'Insert it and try again.'],
		BUSY: ['cardbridge is busy', 'Another cardbridge window is open. Finish it, then try again.'],
	}[reason] || ['Something went wrong', null];
	say(reason === 'USER_CANCELLED' ? 'warning' : 'error', words[0], words[1] || err.message, reason);
}

/** Run one management call from a button; then read the card again. */
async function run(what, call) {
	document.body.dataset.busy = 'true';
	for (const b of document.querySelectorAll('#tokens button'))
		b.disabled = true;
	say('waiting', `${what}…`, 'Continue in the cardbridge window that opens.');
	try {
		await call();
		say('success', `${what}: done`, null, 'OK');
	} catch (err) {
		failure(err);
	} finally {
		delete document.body.dataset.busy;
		await refresh();
	}
}

/** A management button: enabled when `manage` allows it, else disabled with the reason. */
function opButton(token, key, op, label, what, call) {
	const allowed = token.manage?.[key];
	return h('button', {
		type: 'button', class: 'secondary', data: { op }, disabled: !allowed,
		title: allowed ? null : token.manage?.why?.[key] || 'not possible on this card',
		onclick: () => run(what, call),
	}, label);
}

function pinBadges(token) {
	const badge = (who, pin) => {
		const [words, kind] = PIN_STATE[pin.initialized ? pin.state : 'unknown'] || PIN_STATE.unknown;
		return h('span', { class: `badge ${kind}`, data: { pin: who, state: pin.initialized ? pin.state : 'notSet' } },
			`${who === 'user' ? 'PIN' : 'Admin PIN'}: ${pin.initialized ? words : 'not set'}`);
	};
	const p = token.pins || {};
	const limits = p.minLength && p.maxLength ? `${p.minLength}–${p.maxLength} characters` : null;
	return h('div', { class: 'badges' }, p.user ? badge('user', p.user) : null, p.so ? badge('so', p.so) : null,
		limits ? h('span', { class: 'hint' }, limits) : null);
}

function pinActions(token) {
	const t = { token: token.uri };
	const unblockWith = token.manage?.unblockWith === 'puk' ? 'with the PUK' : 'with the admin PIN';
	return h('div', { class: 'card-actions' },
		opButton(token, 'canChangePin', 'change-pin', 'Change PIN', 'Changing the PIN', () => client.changePin(t)),
		opButton(token, 'canUnblockPin', 'unblock', `Unblock PIN ${unblockWith}`, 'Unblocking the PIN', () => client.unblockPin(t)),
		opButton(token, 'canChangeSoPin', 'change-so-pin', 'Change admin PIN', 'Changing the admin PIN',
			() => client.changePin({ ...t, which: 'so' })),
		opButton(token, 'canInitializePin', 'init-pin', 'Set the first PIN', 'Setting the first PIN', () => client.initializePin(t)));
}

function keyRows(token, keys) {
	if (!keys.length)
		return h('p', { class: 'hint' }, 'No keys.');
	return h('table', { class: 'objects' }, h('tr', {}, h('th', {}, 'Key'), h('th', {}, 'Type'), h('th', {}, 'ID'), h('th', {})),
		keys.map((k) => h('tr', { data: { keyId: k.keyId || '' } },
			h('td', {}, k.label || '(no label)', k.certificates ? h('div', { class: 'hint' }, `${k.certificates} certificate(s)`) : null),
			h('td', {}, k.algorithm || '?'), h('td', { class: 'mono' }, k.keyId || '-'),
			h('td', {}, opButton(token, 'canDeleteObjects', 'delete-key', 'Delete', 'Deleting the key',
				() => client.deleteKey({ token: token.uri, keyId: k.keyId, withCertificates: k.certificates > 0 }))))));
}

function certificateRows(token, certs) {
	if (!certs.length)
		return h('p', { class: 'hint' }, 'No certificates.');
	return h('table', { class: 'objects' }, h('tr', {}, h('th', {}, 'Certificate'), h('th', {}, 'Issued by'), h('th', {}, 'Valid until'), h('th', {})),
		certs.map((c) => h('tr', { data: { serial: c.serial } },
			h('td', {}, c.subject), h('td', {}, c.issuer), h('td', {}, (c.notAfter || '').slice(0, 10)),
			h('td', {}, opButton(token, 'canDeleteObjects', 'delete-certificate', 'Delete', 'Deleting the certificate',
				() => client.deleteCertificates({ token: token.uri, serial: c.serial, issuer: c.issuer }))))));
}

async function tokenCard(token) {
	const [keys, certs] = await Promise.all([
		client.listKeys({ token: token.uri }).catch(() => []),
		client.listCertificates({ token: token.uri }).catch(() => []),
	]);
	return h('article', { class: 'card-token', data: { label: token.label } },
		h('h2', {}, token.label), h('p', { class: 'hint' }, `${token.manufacturer} ${token.model} · serial ${token.serial}`),
		pinBadges(token), pinActions(token),
		h('h3', {}, 'Keys'), keyRows(token, keys), h('h3', {}, 'Certificates'), certificateRows(token, certs));
}

async function refresh() {
	if (!client)
		return;
	try {
		const tokens = await client.listTokens();
		const cards = await Promise.all(tokens.map(tokenCard));
		$('#tokens').replaceChildren(...(cards.length ? cards : [h('p', { class: 'hint' }, 'No card found. Insert your card.')]));
	} catch (err) {
		failure(err);
	}
	document.body.dataset.refreshed = String(++refreshes);
}

async function start() {
	const button = $('#connect');
	button.disabled = true;
	pill('connecting', 'Connecting…');
	try {
		const config = await fetch('config.json').then((r) => r.json()).catch(() => ({}));
		client = await connect({ port: config.helperPort || 48801, launch: true });
		pill('connected', 'Card helper connected');
		client.on('tokensChanged', () => { if (!document.body.dataset.busy) refresh(); });
		await client.subscribe().catch(() => null);
		button.hidden = true;
		await refresh();
	} catch (err) {
		pill('problem', 'Card helper not connected');
		button.disabled = false;
		failure(err);
	}
}

$('#connect').addEventListener('click', start);
document.body.dataset.ready = 'true';
